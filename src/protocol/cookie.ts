/**
 * Server cookies: opaque to clients, stateless on the server.
 *
 * A cookie is a position in the store's registration order plus a MAC that binds the position to the namespace it
 * was issued for and to the store's secret. A server that shares the store (and so its secret) can continue a
 * cookie another one issued; a cookie from another namespace or another fleet, or one that was edited, fails the
 * MAC.
 *
 * Positions are unsigned and below 2^128: the memory store counts its writes, the PostgreSQL store orders rows by
 * (transaction id, sequence), which needs two 64-bit halves.
 *
 * Version 2, issued (44 bytes, ASCII throughout): `"rdv2"` ‖ `base64url(position: uint128 big-endian (16) ‖ mac (14))`,
 * 30 bytes, so that the base64url text has no spare bits and every edit of it changes the bytes.
 * A Rust client reads any cookie as 8 bytes of id followed by a UTF-8 namespace and hands it back byte for byte,
 * so the format only has to be longer than 8 bytes and valid UTF-8 after them; being ASCII from the first byte
 * also survives clients that keep cookies as text (the earlier JS client re-encoded bytes >= 0x80).
 *
 * Version 3 (64 bytes, ASCII): `"rdv3"` ‖ `base64url(settled: uint128 (16) ‖ sent: uint128 (16) ‖ mac (13))`, for a page
 * that went past positions the store has not settled (a PostgreSQL transaction still open somewhere): everything up
 * to `settled` was sent, and what lay between `settled` and `sent` was sent while not settled yet. The next DISCOVER
 * skips those until they settle, then sends that stretch once more (with any registration that committed into it
 * late), so the holder makes progress past a held transaction, loses nothing, and gets a registration at most one
 * extra time. A page that ends where everything is settled gets a version 2 cookie (`sent` = `settled`).
 *
 * Version 1, still accepted so that cookies held across an upgrade keep their place (26 bytes):
 * `position: uint64 big-endian (8)` ‖ ASCII `"v1"` ‖ `base64url(mac) (16)`. Its positions are the same numbers
 * (the PostgreSQL store's rows from before version 2 keep transaction id 0, so their positions are their old
 * sequence numbers).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidCookieError } from '../errors.ts'

/** Largest position a cookie can carry */
export const MAX_COOKIE_POSITION = (1n << 128n) - 1n

interface Version {
  /** The domain separation string the MAC starts with */
  domain: Uint8Array
  /** Bytes of the position */
  positionLength: number
  /** Bytes of HMAC-SHA256 kept */
  macLength: number
}

/** A version 1 cookie starts with its position */
const V1_POSITION_LENGTH = 8
const V1: Version = { domain: uint8ArrayFromString('libp2p-rendezvous-cookie/v1'), positionLength: V1_POSITION_LENGTH, macLength: 12 }
const V2: Version = { domain: uint8ArrayFromString('libp2p-rendezvous-cookie/v2'), positionLength: 16, macLength: 14 }
/** Two positions, 32 bytes, MACed as one */
const V3: Version = { domain: uint8ArrayFromString('libp2p-rendezvous-cookie/v3'), positionLength: 32, macLength: 13 }

const V1_TAG = 'v1'
const V1_MAC_TEXT_LENGTH = 16 // base64url of 12 bytes, no padding
const V1_LENGTH = V1_POSITION_LENGTH + V1_TAG.length + V1_MAC_TEXT_LENGTH

const V2_PREFIX = 'rdv2'
const V2_BODY_TEXT_LENGTH = (V2.positionLength + V2.macLength) * 4 / 3 // base64url of a multiple of 3 bytes: no padding, no spare bits

/** The length of every cookie this module issues for one position (version 2) */
export const COOKIE_LENGTH = V2_PREFIX.length + V2_BODY_TEXT_LENGTH

const V3_PREFIX = 'rdv3'
const V3_BODY_TEXT_LENGTH = (V3.positionLength + V3.macLength) * 4 / 3

/** The length of a cookie for two positions (version 3) */
export const RANGE_COOKIE_LENGTH = V3_PREFIX.length + V3_BODY_TEXT_LENGTH

/**
 * Where a cookie says the next page starts: everything up to `settled` was sent; what lies above it up to `sent`
 * was sent while the store had not settled it (`sent` equals `settled` for every cookie but version 3's)
 */
export interface CookieRange {
  settled: bigint
  sent: bigint
}

/**
 * HMACs already keyed with a secret, by secret and version: every cookie clones one rather than hash the key
 * again, which halves the cost of a cookie (the server makes one per DISCOVER)
 */
const keyed = new WeakMap<Uint8Array, Map<Version, Mac>>()

/** What a cookie needs of an HMAC */
interface Mac {
  update(bytes: Uint8Array): unknown
  digest(): Uint8Array
  clone(): Mac
}

function keyedHmac (version: Version, secret: Uint8Array): Mac {
  let byVersion = keyed.get(secret)

  if (byVersion == null) {
    byVersion = new Map()
    keyed.set(secret, byVersion)
  }

  let h = byVersion.get(version)

  if (h == null) {
    h = hmac.create(sha256, secret) as Mac
    // the domain goes first in every MAC of this version: hashed once too
    h.update(version.domain)
    byVersion.set(version, h)
  }

  return h.clone()
}

function mac (version: Version, secret: Uint8Array, namespace: string | undefined, position: Uint8Array): Uint8Array {
  // 0x00 marks a cookie for "all namespaces", 0x01 one for a single namespace, so neither can pose as the other
  const scope = namespace == null ? new Uint8Array([0]) : uint8ArrayFromString(`\u0001${namespace}`)
  const h = keyedHmac(version, secret)
  h.update(position)
  h.update(scope)
  return h.digest().subarray(0, version.macLength)
}

function positionBytes (position: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let rest = position
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return bytes
}

function positionOf (bytes: Uint8Array): bigint {
  let position = 0n
  for (const byte of bytes) {
    position = (position << 8n) | BigInt(byte)
  }
  return position
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

function base64url (text: Uint8Array): Uint8Array {
  try {
    return uint8ArrayFromString(uint8ArrayToString(text), 'base64url')
  } catch {
    throw new InvalidCookieError('cookie is malformed')
  }
}

function verified (version: Version, secret: Uint8Array, namespace: string | undefined, position: Uint8Array, presented: Uint8Array): bigint {
  if (!sameBytes(presented, mac(version, secret, namespace, position))) {
    throw new InvalidCookieError('cookie was not issued for this namespace by this rendezvous fleet')
  }

  return positionOf(position)
}

function checkPosition (position: bigint): void {
  if (position < 0n || position > MAX_COOKIE_POSITION) {
    throw new RangeError(`cookie position ${position} is outside [0, 2^128)`)
  }
}

/**
 * Issues the cookie for `range` in `namespace`: a version 2 cookie when `sent` is `settled`, else a version 3 one
 * that carries both
 */
export function encodeCookieRange (secret: Uint8Array, namespace: string | undefined, range: CookieRange): Uint8Array<ArrayBuffer> {
  if (range.sent === range.settled) {
    return encodeCookie(secret, namespace, range.settled)
  }

  checkPosition(range.settled)
  checkPosition(range.sent)

  if (range.sent < range.settled) {
    throw new RangeError(`cookie position sent (${range.sent}) is below settled (${range.settled})`)
  }

  const half = V3.positionLength / 2
  const bytes = new Uint8Array(V3.positionLength)
  bytes.set(positionBytes(range.settled, half), 0)
  bytes.set(positionBytes(range.sent, half), half)
  const body = new Uint8Array(V3.positionLength + V3.macLength)
  body.set(bytes, 0)
  body.set(mac(V3, secret, namespace, bytes), V3.positionLength)
  const cookie = new Uint8Array(RANGE_COOKIE_LENGTH)
  cookie.set(uint8ArrayFromString(V3_PREFIX + uint8ArrayToString(body, 'base64url')))
  return cookie
}

/**
 * The range of a cookie this fleet issued for `namespace`, of any version, or an {@link InvalidCookieError} when the
 * cookie is malformed, was edited, or belongs to another namespace or another fleet
 */
export function decodeCookieRange (secret: Uint8Array, namespace: string | undefined, cookie: Uint8Array): CookieRange {
  if (cookie.byteLength === RANGE_COOKIE_LENGTH && uint8ArrayToString(cookie.subarray(0, V3_PREFIX.length)) === V3_PREFIX) {
    const body = base64url(cookie.subarray(V3_PREFIX.length))

    if (body.byteLength !== V3.positionLength + V3.macLength) {
      throw new InvalidCookieError('cookie is malformed')
    }

    const positions = body.subarray(0, V3.positionLength)
    const half = V3.positionLength / 2
    verified(V3, secret, namespace, positions, body.subarray(V3.positionLength))
    const range = { settled: positionOf(positions.subarray(0, half)), sent: positionOf(positions.subarray(half)) }

    if (range.sent < range.settled) {
      // authentic yet impossible: only a server with the secret and a bug could have issued it
      throw new InvalidCookieError('cookie is malformed')
    }

    return range
  }

  const position = decodeCookie(secret, namespace, cookie)
  return { settled: position, sent: position }
}

/** Issues the cookie for `position` in `namespace` (`undefined`: a DISCOVER over all namespaces) */
export function encodeCookie (secret: Uint8Array, namespace: string | undefined, position: bigint): Uint8Array<ArrayBuffer> {
  checkPosition(position)

  const bytes = positionBytes(position, V2.positionLength)
  const body = new Uint8Array(V2.positionLength + V2.macLength)
  body.set(bytes, 0)
  body.set(mac(V2, secret, namespace, bytes), V2.positionLength)
  const cookie = new Uint8Array(COOKIE_LENGTH)
  cookie.set(uint8ArrayFromString(V2_PREFIX + uint8ArrayToString(body, 'base64url')))
  return cookie
}

/**
 * Returns the position of a version 1 or 2 cookie this fleet issued for `namespace`, or throws an
 * {@link InvalidCookieError} when the cookie is malformed, was edited, or belongs to another namespace or another
 * fleet. {@link decodeCookieRange} reads every version.
 */
export function decodeCookie (secret: Uint8Array, namespace: string | undefined, cookie: Uint8Array): bigint {
  if (cookie.byteLength === COOKIE_LENGTH && uint8ArrayToString(cookie.subarray(0, V2_PREFIX.length)) === V2_PREFIX) {
    const body = base64url(cookie.subarray(V2_PREFIX.length))

    if (body.byteLength !== V2.positionLength + V2.macLength) {
      throw new InvalidCookieError('cookie is malformed')
    }

    return verified(V2, secret, namespace, body.subarray(0, V2.positionLength), body.subarray(V2.positionLength))
  }

  if (cookie.byteLength === V1_LENGTH && uint8ArrayToString(cookie.subarray(V1_POSITION_LENGTH, V1_POSITION_LENGTH + V1_TAG.length)) === V1_TAG) {
    const presented = base64url(cookie.subarray(V1_POSITION_LENGTH + V1_TAG.length))
    return verified(V1, secret, namespace, cookie.subarray(0, V1_POSITION_LENGTH), presented)
  }

  throw new InvalidCookieError(`cookie of ${cookie.byteLength} bytes is none this server issues (version 2: ${COOKIE_LENGTH} bytes starting "${V2_PREFIX}", version 3: ${RANGE_COOKIE_LENGTH} starting "${V3_PREFIX}")`)
}

/** A version 1 cookie, as servers before cookie version 2 issued them; kept to test that they are still honoured */
export function encodeCookieV1 (secret: Uint8Array, namespace: string | undefined, position: bigint): Uint8Array<ArrayBuffer> {
  if (position < 0n || position > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`cookie position ${position} is outside uint64`)
  }

  const bytes = positionBytes(position, V1.positionLength)
  const tail = uint8ArrayFromString(V1_TAG + uint8ArrayToString(mac(V1, secret, namespace, bytes), 'base64url'))
  const cookie = new Uint8Array(V1_LENGTH)
  cookie.set(bytes, 0)
  cookie.set(tail, V1_POSITION_LENGTH)
  return cookie
}
