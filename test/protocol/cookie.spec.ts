import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { InvalidCookieError } from '../../src/errors.ts'
import { COOKIE_LENGTH, decodeCookie, decodeCookieRange, encodeCookie, encodeCookieRange, encodeCookieV1, MAX_COOKIE_POSITION, RANGE_COOKIE_LENGTH } from '../../src/protocol/cookie.ts'

const secret = fc.uint8Array({ minLength: 16, maxLength: 32 })
const cursor = fc.bigInt({ min: 0n, max: MAX_COOKIE_POSITION })
const cursorV1 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn })
const namespace = fc.option(fc.string({ minLength: 1, maxLength: 64 }), { nil: undefined })

describe('cookies', () => {
  it('round-trips the cursor for the namespace and secret it was issued with', () => {
    fc.assert(fc.property(secret, namespace, cursor, (key, ns, position) => {
      expect(decodeCookie(key, ns, encodeCookie(key, ns, position))).to.equal(position)
    }))
  })

  it('are longer than 8 bytes and ASCII throughout, so a Rust client parses them and a client keeping text returns them intact', () => {
    fc.assert(fc.property(secret, namespace, cursor, (key, ns, position) => {
      const cookie = encodeCookie(key, ns, position)
      expect(cookie.byteLength).to.equal(COOKIE_LENGTH).and.to.be.above(8).and.to.be.at.most(255)
      expect([...cookie].every(byte => byte >= 0x20 && byte < 0x7f)).to.be.true()
    }))
  })

  it('honours version 1 cookies, issued before positions grew to 128 bits, at the same position', () => {
    fc.assert(fc.property(secret, namespace, cursorV1, (key, ns, position) => {
      const old = encodeCookieV1(key, ns, position)
      expect(old.byteLength).to.equal(26)
      expect(decodeCookie(key, ns, old)).to.equal(position)
      expect(decodeCookie(key, ns, encodeCookie(key, ns, position))).to.equal(position)
    }))
  })

  it('refuses a version 1 cookie that was edited or is used on another namespace', () => {
    fc.assert(fc.property(secret, fc.string({ minLength: 1 }), cursorV1, fc.nat(), fc.integer({ min: 0, max: 7 }), (key, ns, position, index, bit) => {
      const old = encodeCookieV1(key, ns, position)
      expect(() => decodeCookie(key, `${ns}x`, old)).to.throw(InvalidCookieError)
      old[index % old.byteLength] ^= 1 << bit
      expect(() => decodeCookie(key, ns, old)).to.throw(InvalidCookieError)
    }))
  })

  it('refuses to issue a cookie for a position outside [0, 2^128)', () => {
    expect(() => encodeCookie(new Uint8Array(32), 'ns', -1n)).to.throw(RangeError)
    expect(() => encodeCookie(new Uint8Array(32), 'ns', MAX_COOKIE_POSITION + 1n)).to.throw(RangeError)
  })

  it('refuses a cookie with any single bit flipped', () => {
    fc.assert(fc.property(secret, namespace, cursor, fc.nat(), fc.integer({ min: 0, max: 7 }), (key, ns, position, index, bit) => {
      const cookie = encodeCookie(key, ns, position)
      cookie[index % cookie.byteLength] ^= 1 << bit
      expect(() => decodeCookie(key, ns, cookie)).to.throw(InvalidCookieError)
    }))
  })

  it('refuses a cookie used on another namespace, or on all namespaces', () => {
    fc.assert(fc.property(secret, fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), cursor, (key, a, b, position) => {
      fc.pre(a !== b)
      expect(() => decodeCookie(key, b, encodeCookie(key, a, position))).to.throw(InvalidCookieError)
      expect(() => decodeCookie(key, undefined, encodeCookie(key, a, position))).to.throw(InvalidCookieError)
      expect(() => decodeCookie(key, a, encodeCookie(key, undefined, position))).to.throw(InvalidCookieError)
    }))
  })

  it('refuses a cookie issued under another secret (a server outside the fleet)', () => {
    fc.assert(fc.property(secret, secret, namespace, cursor, (key, other, ns, position) => {
      fc.pre(key.toString() !== other.toString())
      expect(() => decodeCookie(other, ns, encodeCookie(key, ns, position))).to.throw(InvalidCookieError)
    }))
  })

  it('refuses bytes of any other length', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      fc.pre(bytes.byteLength !== COOKIE_LENGTH && bytes.byteLength !== 26)
      expect(() => decodeCookie(new Uint8Array(32), 'ns', bytes)).to.throw(InvalidCookieError)
    }))
  })
})

describe('cookies with a stretch sent while not settled (version 3)', () => {
  /** settled <= sent */
  const range = fc.tuple(cursor, cursor).map(([a, b]) => a <= b ? { settled: a, sent: b } : { settled: b, sent: a })

  it('round-trips both positions; a range that is one position is a version 2 cookie', () => {
    fc.assert(fc.property(secret, namespace, range, (key, ns, r) => {
      const cookie = encodeCookieRange(key, ns, r)
      expect(decodeCookieRange(key, ns, cookie)).to.deep.equal(r)
      expect(cookie.byteLength).to.equal(r.sent === r.settled ? COOKIE_LENGTH : RANGE_COOKIE_LENGTH)
      expect([...cookie].every(byte => byte >= 0x20 && byte < 0x7f)).to.be.true()
    }))
    // every earlier cookie reads as a range of one position
    expect(decodeCookieRange(new Uint8Array(32), 'ns', encodeCookieV1(new Uint8Array(32), 'ns', 7n))).to.deep.equal({ settled: 7n, sent: 7n })
  })

  it('refuses one with any single bit flipped, on another namespace, or under another secret', () => {
    fc.assert(fc.property(secret, fc.string({ minLength: 1 }), range, fc.nat(), fc.integer({ min: 0, max: 7 }), (key, ns, r, index, bit) => {
      fc.pre(r.sent !== r.settled)
      const cookie = encodeCookieRange(key, ns, r)
      expect(() => decodeCookieRange(key, `${ns}x`, cookie)).to.throw(InvalidCookieError)
      expect(() => decodeCookieRange(Uint8Array.from([...key, 1]), ns, cookie)).to.throw(InvalidCookieError)
      cookie[index % cookie.byteLength] ^= 1 << bit
      expect(() => decodeCookieRange(key, ns, cookie)).to.throw(InvalidCookieError)
    }))
  })

  it('refuses to issue one whose sent end is below its settled end', () => {
    expect(() => encodeCookieRange(new Uint8Array(32), 'ns', { settled: 5n, sent: 4n })).to.throw(RangeError)
  })
})
