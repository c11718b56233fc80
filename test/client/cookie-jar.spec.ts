import { expect } from 'aegir/chai'
import { CookieJar, MAX_KEPT_COOKIE_LENGTH } from '../../src/client/cookie-jar.ts'
import { CLIENT_DEFAULTS } from '../../src/defaults.ts'

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

  it('forgets the least recently stored cookie beyond its bound', () => {
    const jar = new CookieJar(3)
    jar.set('A', 'a', bytes(1))
    jar.set('A', 'b', bytes(2))
    jar.set('A', 'c', bytes(3))
    // storing again makes 'a' the newest
    jar.set('A', 'a', bytes(4))
    jar.set('A', 'd', bytes(5))

    expect(jar.size).to.equal(3)
    expect(jar.get('A', 'b')).to.be.undefined()
    expect(jar.get('A', 'a')).to.equalBytes(bytes(4))
  })

  it('holds at most its bound however many pairs it sees', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)

    for (let i = 0; i < 5000; i++) {
      jar.set(`point-${i % 7}`, `ns-${i}`, bytes(i % 256))
    }

    expect(jar.size).to.equal(1024)
  })

  it('does not keep an empty or an oversized cookie, and drops the one it had', () => {
    const jar = new CookieJar(CLIENT_DEFAULTS.maxCookies)
    jar.set('A', 'x', bytes(1))
    jar.set('A', 'x', new Uint8Array())
    expect(jar.get('A', 'x')).to.be.undefined()

    jar.set('A', 'y', new Uint8Array(MAX_KEPT_COOKIE_LENGTH + 1))
    expect(jar.get('A', 'y')).to.be.undefined()
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
})
