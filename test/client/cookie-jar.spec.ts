import { expect } from 'aegir/chai'
import { CLIENT_DEFAULTS } from '../../src/client/config.ts'
import { CookieJar, MAX_KEPT_COOKIE_LENGTH } from '../../src/client/cookie-jar.ts'

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values)

describe('client cookie jar', () => {
  it('keeps one cookie per point and namespace, with "all namespaces" kept apart', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)
    jar.set('A', 'x', bytes(1))
    jar.set('A', undefined, bytes(2))
    jar.set('B', 'x', bytes(3))

    expect(jar.get('A', 'x')).to.equalBytes(bytes(1))
    expect(jar.get('A')).to.equalBytes(bytes(2))
    expect(jar.get('B', 'x')).to.equalBytes(bytes(3))
    expect(jar.get('B')).to.be.undefined()
  })

  it('forgets the cookies unused for longest beyond its bound, never one used since the last ones went', () => {
    const jar = new CookieJar(4)
    jar.set('A', 'kept', bytes(0))

    for (let i = 1; i <= 20; i++) {
      // a DISCOVER for 'kept' between each new namespace's
      expect(jar.get('A', 'kept'), `before ns-${i}`).to.equalBytes(bytes(0))
      jar.set('A', `ns-${i}`, bytes(i))
      expect(jar.size).to.be.at.most(4)
    }

    expect(jar.get('A', 'kept')).to.equalBytes(bytes(0))
    expect(jar.get('A', 'ns-20')).to.equalBytes(bytes(20))
    expect(jar.get('A', 'ns-1')).to.be.undefined()
  })

  it('holds at most its bound however many pairs it sees, and at least half of it', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)

    for (let i = 0; i < 5000; i++) {
      jar.set(`point-${i % 7}`, `ns-${i}`, bytes(i % 256))
    }

    expect(jar.size).to.be.within(512, 1024)
    expect(jar.get(`point-${4999 % 7}`, 'ns-4999')).to.equalBytes(bytes(4999 % 256))
  })

  it('does not keep an empty or an oversized cookie, and drops the one it had', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)
    jar.set('A', 'x', bytes(1))
    jar.set('A', 'x', new Uint8Array())
    expect(jar.get('A', 'x')).to.be.undefined()

    jar.set('A', 'y', new Uint8Array(MAX_KEPT_COOKIE_LENGTH + 1))
    expect(jar.get('A', 'y')).to.be.undefined()

    // the bound itself is kept
    jar.set('A', 'z', new Uint8Array(MAX_KEPT_COOKIE_LENGTH))
    expect(jar.get('A', 'z')).to.have.lengthOf(MAX_KEPT_COOKIE_LENGTH)
  })

  it('forgets every cookie of one point and only of that point', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)
    jar.set('A', 'x', bytes(1))
    jar.set('A', undefined, bytes(2))
    jar.set('AB', 'x', bytes(3))

    jar.deletePoint('A')

    expect(jar.get('A', 'x')).to.be.undefined()
    expect(jar.get('A')).to.be.undefined()
    expect(jar.get('AB', 'x')).to.equalBytes(bytes(3))
  })

  it('forgets every cookie of every point when cleared', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)
    jar.set('A', 'x', bytes(1))
    jar.set('B', undefined, bytes(2))

    jar.clear()

    expect(jar.size).to.equal(0)
    expect(jar.get('A', 'x')).to.be.undefined()
    expect(jar.get('B')).to.be.undefined()
  })
})
