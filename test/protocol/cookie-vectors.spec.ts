/**
 * Cookies byte for byte. A cookie outlives the server that issued it: clients hold cookies across a server upgrade,
 * and the servers of a fleet sharing one store (and so one secret) are upgraded one by one. So the bytes a release
 * issues for a (secret, namespace, position), and the bytes earlier releases issued, are a format every later release
 * must read the same way. The round-trip specs (cookie.spec.ts) would pass with any self-consistent format; these pin
 * the one in use.
 */
import { expect } from 'aegir/chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidCookieError } from '../../src/errors.ts'
import { decodeCookie, decodeCookieRange, encodeCookie, encodeCookieRange, encodeCookieV1, MAX_COOKIE_POSITION } from '../../src/protocol/cookie.ts'

const secret = Uint8Array.from({ length: 32 }, (_, i) => i)

/** Version 2 cookies as this release issues them: ASCII, 44 bytes */
const V2_VECTORS: Array<{ namespace?: string, position: bigint, cookie: string }> = [
  { namespace: 'chat', position: 12345n, cookie: 'rdv2AAAAAAAAAAAAAAAAAAAwOSxHQTBrObXApeD9lI0Q' },
  { namespace: undefined, position: 12345n, cookie: 'rdv2AAAAAAAAAAAAAAAAAAAwOeBe7b4yF8rJwtZ2GJkt' },
  { namespace: 'chat', position: MAX_COOKIE_POSITION - 1n, cookie: 'rdv2_____________________vyI03IZqGd7KJloX797' }
]

/**
 * Version 3 cookies: a page sent past the settled position (a PostgreSQL transaction still open elsewhere), the
 * settled position and how far the page went, ASCII, 64 bytes
 */
const V3_VECTORS: Array<{ namespace?: string, settled: bigint, sent: bigint, cookie: string }> = [
  { namespace: 'chat', settled: 100n, sent: 150n, cookie: 'rdv3AAAAAAAAAAAAAAAAAAAAZAAAAAAAAAAAAAAAAAAAAJafU1fEKMktAnx1DKQa' },
  { namespace: undefined, settled: 0n, sent: 7n, cookie: 'rdv3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAdBFZHrHQKLZTnTxwyT' }
]

/** Version 1 cookies as servers before cookie version 2 issued them (hex: 8 bytes of position, then ASCII) */
const V1_VECTORS: Array<{ namespace?: string, position: bigint, cookie: string }> = [
  { namespace: 'chat', position: 12345n, cookie: '000000000000303976314d32664468664a613264375a59633758' },
  { namespace: undefined, position: 12345n, cookie: '00000000000030397631317070504a632d3242496d646a6c7850' }
]

describe('cookie bytes (the format clients hold across upgrades)', () => {
  it('issues version 2 cookies byte for byte as this release always has', () => {
    for (const { namespace, position, cookie } of V2_VECTORS) {
      expect(uint8ArrayToString(encodeCookie(secret, namespace, position))).to.equal(cookie)
    }
  })

  it('reads version 2 cookies issued earlier at their position, for their namespace only', () => {
    for (const { namespace, position, cookie } of V2_VECTORS) {
      const bytes = uint8ArrayFromString(cookie)
      expect(decodeCookie(secret, namespace, bytes)).to.equal(position)
      // "all namespaces" and a namespace literally called "undefined" are different scopes
      expect(() => decodeCookie(secret, namespace == null ? 'undefined' : undefined, bytes)).to.throw(InvalidCookieError, /not issued for this namespace/)
    }
  })

  it('issues version 3 cookies byte for byte, reads them back for their namespace only, and a version 2 one when nothing was sent past the settled position', () => {
    for (const { namespace, settled, sent, cookie } of V3_VECTORS) {
      expect(uint8ArrayToString(encodeCookieRange(secret, namespace, { settled, sent }))).to.equal(cookie)
      expect(decodeCookieRange(secret, namespace, uint8ArrayFromString(cookie))).to.deep.equal({ settled, sent })
      expect(() => decodeCookieRange(secret, namespace == null ? 'undefined' : undefined, uint8ArrayFromString(cookie))).to.throw(InvalidCookieError, /not issued for this namespace/)
    }

    expect(uint8ArrayToString(encodeCookieRange(secret, 'chat', { settled: 12345n, sent: 12345n }))).to.equal(V2_VECTORS[0].cookie)
  })

  it('refuses to issue a version 3 cookie whose positions are out of range or sent below settled', () => {
    expect(() => encodeCookieRange(secret, 'chat', { settled: 5n, sent: 4n })).to.throw(RangeError, /sent \(4\) is below settled \(5\)/)
    expect(() => encodeCookieRange(secret, 'chat', { settled: -1n, sent: 4n })).to.throw(RangeError, /cookie position -1 is outside/)
    expect(() => encodeCookieRange(secret, 'chat', { settled: 1n, sent: MAX_COOKIE_POSITION + 1n })).to.throw(RangeError, /is outside \[0, 2\^128\)/)
  })

  it('reads version 1 cookies issued before the upgrade at their position, and still issues them the same way for the tests that need one', () => {
    for (const { namespace, position, cookie } of V1_VECTORS) {
      const bytes = uint8ArrayFromString(cookie, 'base16')
      expect(decodeCookie(secret, namespace, bytes)).to.equal(position)
      expect(() => decodeCookie(secret, namespace == null ? 'undefined' : undefined, bytes)).to.throw(InvalidCookieError, /not issued for this namespace/)
      expect(uint8ArrayToString(encodeCookieV1(secret, namespace, position), 'base16')).to.equal(cookie)
    }
  })

  it('says what is wrong with a cookie it refuses', () => {
    expect(() => decodeCookie(secret, 'chat', new Uint8Array(3))).to.throw(InvalidCookieError, /cookie of 3 bytes is none this server issues \(version 2: 44 bytes starting "rdv2"/)
    // a version 2 cookie whose body is not base64url
    expect(() => decodeCookie(secret, 'chat', uint8ArrayFromString('rdv2' + '!'.repeat(40)))).to.throw(InvalidCookieError, /malformed/)
    expect(() => encodeCookie(secret, 'chat', -1n)).to.throw(RangeError, /cookie position -1 is outside/)
    expect(() => encodeCookieV1(secret, 'chat', 1n << 64n)).to.throw(RangeError, /outside uint64/)
  })
})
