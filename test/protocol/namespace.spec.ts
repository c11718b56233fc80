import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { InvalidNamespaceError } from '../../src/errors.ts'
import { namespaceByteLength, namespaceProblem, parseNamespace, validateNamespace } from '../../src/protocol/namespace.ts'
import type { Namespace } from '../../src/protocol/namespace.ts'

describe('namespace rules', () => {
  it('accepts a plain namespace', () => {
    expect(namespaceProblem('floodsub:chat')).to.be.undefined()
  })

  it('refuses an empty namespace', () => {
    expect(() => { validateNamespace('') }).to.throw(InvalidNamespaceError, /empty/)
  })

  it('parses a namespace once into a Namespace, the same string, and refuses a bad one with the reason', () => {
    const ns: Namespace = parseNamespace('floodsub:chat')
    expect(ns).to.equal('floodsub:chat')
    expect(() => parseNamespace('a\u0000b')).to.throw(InvalidNamespaceError, /control/)
    expect(() => parseNamespace('a'.repeat(11), 10)).to.throw(InvalidNamespaceError, /11 bytes, more than the 10 allowed/)
  })

  it('counts length in UTF-8 bytes, so 255 bytes pass and 256 fail', () => {
    expect(namespaceProblem('a'.repeat(255))).to.be.undefined()
    expect(namespaceProblem('a'.repeat(256))).to.match(/256 bytes/)
    // 128 two-byte characters are 128 UTF-16 units but 256 UTF-8 bytes
    expect(namespaceProblem('é'.repeat(128))).to.match(/256 bytes/)
  })

  it('refuses control characters and the replacement character left by bytes that are not UTF-8', () => {
    expect(namespaceProblem('a\u0000b')).to.match(/control/)
    expect(namespaceProblem('a\nb')).to.match(/control/)
    expect(namespaceProblem('a\u0085b')).to.match(/control/)
    expect(namespaceProblem(new TextDecoder().decode(new Uint8Array([0x61, 0xff])))).to.match(/not UTF-8/)
  })

  it('accepts every printable string within the byte limit and refuses every longer one', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), (ns) => {
      // eslint-disable-next-line no-control-regex
      fc.pre(!/[\u0000-\u001f\u007f-\u009f\ufffd]/u.test(ns))
      const fits = namespaceByteLength(ns) <= 255
      expect(namespaceProblem(ns) === undefined).to.equal(fits)
    }))
  })
})
