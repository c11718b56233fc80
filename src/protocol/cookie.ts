/**
 * Server cookies: opaque to clients, stateless on the server.
 *
 * A cookie is a position in the store's registration sequence (every REGISTER, refresh included, gets the next
 * sequence number) plus a MAC that binds the position to the namespace it was issued for and to the store's
 * secret. A server that shares the store (and so its secret) can continue a cookie another one issued; a cookie
 * from another namespace or another fleet, or one that was edited, fails the MAC.
 *
 * Layout (26 bytes): `cursor: uint64 big-endian (8)` ‖ ASCII `"v1"` ‖ `base64url(mac) (16)`. The tail is ASCII
 * so that a Rust client, which reads a cookie as 8 bytes of id followed by a UTF-8 namespace, accepts it.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { COOKIE_CURSOR_LENGTH } from '../constants.ts'
import { InvalidCookieError } from '../errors.ts'

const VERSION = 'v1'
const MAC_LENGTH = 12
const MAC_TEXT_LENGTH = 16 // base64url of 12 bytes, no padding
const DOMAIN = uint8ArrayFromString('libp2p-rendezvous-cookie/v1')

/** The length of every cookie this module issues */
export const COOKIE_LENGTH = COOKIE_CURSOR_LENGTH + VERSION.length + MAC_TEXT_LENGTH

function mac (secret: Uint8Array, namespace: string | undefined, cursor: Uint8Array): Uint8Array {
  // 0x00 marks a cookie for "all namespaces", 0x01 one for a single namespace, so neither can pose as the other
  const scope = namespace == null ? new Uint8Array([0]) : uint8ArrayFromString(`\u0001${namespace}`)
  const h = hmac.create(sha256, secret)
  h.update(DOMAIN)
  h.update(cursor)
  h.update(scope)
  return h.digest().subarray(0, MAC_LENGTH)
}

function cursorBytes (cursor: bigint): Uint8Array {
  if (cursor < 0n || cursor > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`cookie cursor ${cursor} is outside uint64`)
  }

  const bytes = new Uint8Array(COOKIE_CURSOR_LENGTH)
  new DataView(bytes.buffer).setBigUint64(0, cursor)
  return bytes
}

/** Constant-time comparison, so a forger learns nothing from how long a rejection took */
function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) {
    return false
  }

  let diff = 0
  for (let i = 0; i < a.byteLength; i++) {
    diff |= a[i] ^ b[i]
  }
  return diff === 0
}

/** Issues the cookie for `cursor` in `namespace` (`undefined`: a DISCOVER over all namespaces) */
export function encodeCookie (secret: Uint8Array, namespace: string | undefined, cursor: bigint): Uint8Array<ArrayBuffer> {
  const position = cursorBytes(cursor)
  const tail = uint8ArrayFromString(VERSION + uint8ArrayToString(mac(secret, namespace, position), 'base64url'))
  const cookie = new Uint8Array(COOKIE_LENGTH)
  cookie.set(position, 0)
  cookie.set(tail, COOKIE_CURSOR_LENGTH)
  return cookie
}

/**
 * Returns the cursor of a cookie this fleet issued for `namespace`, or throws an {@link InvalidCookieError}
 * when the cookie is malformed, was edited, or belongs to another namespace or another fleet.
 */
export function decodeCookie (secret: Uint8Array, namespace: string | undefined, cookie: Uint8Array): bigint {
  if (cookie.byteLength !== COOKIE_LENGTH) {
    throw new InvalidCookieError(`cookie is ${cookie.byteLength} bytes, not the ${COOKIE_LENGTH} this server issues`)
  }

  const tail = cookie.subarray(COOKIE_CURSOR_LENGTH)
  const version = uint8ArrayToString(tail.subarray(0, VERSION.length))

  if (version !== VERSION) {
    throw new InvalidCookieError('cookie has an unknown version')
  }

  let presented: Uint8Array
  try {
    presented = uint8ArrayFromString(uint8ArrayToString(tail.subarray(VERSION.length)), 'base64url')
  } catch {
    throw new InvalidCookieError('cookie is malformed')
  }

  const position = cookie.subarray(0, COOKIE_CURSOR_LENGTH)

  if (!sameBytes(presented, mac(secret, namespace, position))) {
    throw new InvalidCookieError('cookie was not issued for this namespace by this rendezvous fleet')
  }

  return new DataView(position.buffer, position.byteOffset, position.byteLength).getBigUint64(0)
}
