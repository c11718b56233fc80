/**
 * The words of the client's errors (src/client/request-errors.ts) on their own: which request, which point and
 * which of its addresses a message names, and how an error from below (a dial, a stream, an abort) is rebuilt with
 * that context without losing its class, its fields or its cause. The specs with real nodes (errors.spec.ts) meet
 * only the errors those nodes happen to throw; these pin the rest (a class that takes other arguments, an error
 * with fields of its own, a value that is not an error, a point with many addresses).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TimeoutError } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { describeError, describeRequest, hasStatus, inContext } from '../../src/client/request-errors.ts'
import { InvalidResponseError, RendezvousError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import type { PeerId } from '@libp2p/interface'

const { ResponseStatus } = Message
const CONTEXT = 'DISCOVER "chat" at rendezvous point 12D3KooW'

/** An error class of the kind Node and libraries throw: a name of its own and fields beside the message */
class SocketError extends Error {
  name = 'SocketError'
  code = 'ECONNREFUSED'
}

describe('client error messages', () => {
  let id: PeerId

  before(async () => {
    id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  describe('describeRequest', () => {
    it('names the request, its namespace in quotes, the point and its address without the point\'s own /p2p/ suffix', () => {
      const address = multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${id.toString()}`)

      expect(describeRequest('REGISTER', 'chat', { target: address, id: id.toString() }))
        .to.equal(`REGISTER "chat" at rendezvous point ${id.toString()} (/ip4/127.0.0.1/tcp/4001)`)
    })

    it('says "of all namespaces" for a DISCOVER without one', () => {
      expect(describeRequest('DISCOVER', undefined, { target: [multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${id.toString()}`)], id: id.toString() }))
        .to.equal(`DISCOVER of all namespaces at rendezvous point ${id.toString()} (/ip4/127.0.0.1/tcp/1)`)
    })

    it('names two addresses and counts the others', () => {
      const addresses = [1, 2, 3, 4].map(port => multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${id.toString()}`))

      expect(describeRequest('UNREGISTER', 'a', { target: addresses, id: id.toString() }))
        .to.equal(`UNREGISTER "a" at rendezvous point ${id.toString()} (/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2 and 2 more)`)
      expect(describeRequest('UNREGISTER', 'a', { target: addresses.slice(0, 2), id: id.toString() }))
        .to.equal(`UNREGISTER "a" at rendezvous point ${id.toString()} (/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2)`)
    })

    it('names no address for a point named by peer id without a connection, and the connection\'s for one with', () => {
      const point = { target: id, id: id.toString() }

      expect(describeRequest('DISCOVER', 'chat', point)).to.equal(`DISCOVER "chat" at rendezvous point ${id.toString()}`)
      expect(describeRequest('DISCOVER', 'chat', point, { getConnections: () => [] })).to.equal(`DISCOVER "chat" at rendezvous point ${id.toString()}`)

      const connections: any[] = [{ remoteAddr: multiaddr(`/ip4/10.0.0.1/tcp/9/p2p/${id.toString()}`) }]
      expect(describeRequest('DISCOVER', 'chat', point, { getConnections: () => connections }))
        .to.equal(`DISCOVER "chat" at rendezvous point ${id.toString()} (/ip4/10.0.0.1/tcp/9)`)
    })
  })

  describe('describeError', () => {
    it('gives an error\'s message, an error-like value\'s message, an event\'s type in words, and anything else as a string', () => {
      expect(describeError(new Error('boom'))).to.equal('boom')
      expect(describeError({ message: 'like an error' })).to.equal('like an error')
      expect(describeError(new Event('close'))).to.equal('the connection failed (an \'close\' event without detail: the browser\'s console names the cause)')
      expect(describeError(42)).to.equal('42')
      expect(describeError(undefined)).to.equal('undefined')
    })
  })

  describe('inContext', () => {
    it('returns an error whose message already starts with the context as it is', () => {
      const err = new InvalidResponseError(`${CONTEXT}: the reply was not a DISCOVER_RESPONSE`)

      expect(inContext(err, CONTEXT)).to.equal(err)
    })

    it('makes an Error with the context and the value as cause for a value that is not an error', () => {
      const err = inContext('a string thrown', CONTEXT)

      expect(err).to.be.an.instanceOf(Error)
      expect(err.message).to.equal(`${CONTEXT}: a string thrown`)
      expect(err.cause).to.equal('a string thrown')
    })

    it('rebuilds an error of a class made from a message alone as that class, with its own fields and the original as cause', () => {
      const original = new SocketError('connect ECONNREFUSED 127.0.0.1:1')
      const err = inContext(original, CONTEXT)

      expect(err).to.be.an.instanceOf(SocketError)
      expect(err.name).to.equal('SocketError')
      expect(err.message).to.equal(`${CONTEXT}: connect ECONNREFUSED 127.0.0.1:1`)
      expect(err).to.have.property('code', 'ECONNREFUSED')
      expect(err.cause).to.equal(original)
      // the cause is kept out of the error's enumerable fields, as Error's own `cause` is
      expect(Object.keys(err)).to.not.include('cause')
    })

    it('copies the fields the rebuilt error lacks, non-enumerable ones too, and gives it a stack of its own', () => {
      const original: any = new TimeoutError('timed out')
      original.address = '127.0.0.1'
      Object.defineProperty(original, 'hidden', { value: 'not enumerable', enumerable: false })
      const err: any = inContext(original, CONTEXT)

      expect(err).to.be.an.instanceOf(TimeoutError)
      expect(err.name).to.equal('TimeoutError')
      expect(err.address).to.equal('127.0.0.1')
      expect(err.hidden).to.equal('not enumerable')
      expect(err.stack).to.not.equal(original.stack)
    })

    it('keeps a RendezvousError\'s status, so that retryable and hasStatus still read it', () => {
      const original = new RendezvousError(ResponseStatus.E_UNAVAILABLE, 'the store is down')
      const err = inContext(original, CONTEXT)

      expect(err).to.be.an.instanceOf(RendezvousError)
      expect(hasStatus(err, ResponseStatus.E_UNAVAILABLE)).to.be.true()
      expect(hasStatus(err, ResponseStatus.E_INTERNAL_ERROR)).to.be.false()
      expect(hasStatus(new Error('x'), ResponseStatus.E_UNAVAILABLE)).to.be.false()
      expect(err.message).to.equal(`${CONTEXT}: the store is down`)
    })

    it('keeps a DOMException\'s name (an abort stays an AbortError)', () => {
      const original = new DOMException('This operation was aborted', 'AbortError')
      const err = inContext(original, CONTEXT)

      expect(err).to.be.an.instanceOf(DOMException)
      expect(err.name).to.equal('AbortError')
      expect(err.message).to.equal(`${CONTEXT}: This operation was aborted`)
    })

    it('makes a plain Error of the same name for a class that takes other arguments (AggregateError) or a plain Error', () => {
      const aggregate = new AggregateError([new Error('a'), new Error('b')], 'all dials failed')
      const err = inContext(aggregate, CONTEXT)

      expect(err).to.not.be.an.instanceOf(AggregateError)
      expect(err.constructor).to.equal(Error)
      expect(err.name).to.equal('AggregateError')
      expect(err.message).to.equal(`${CONTEXT}: all dials failed`)
      expect(err.cause).to.equal(aggregate)

      const plain = inContext(new Error('plain'), CONTEXT)
      expect(plain.constructor).to.equal(Error)
      expect(plain.name).to.equal('Error')
    })

    it('makes a plain Error of the same name for a class whose constructor throws or renames', () => {
      class Picky extends Error {
        constructor (message: string) {
          if (!message.startsWith('picky')) {
            throw new TypeError('not picky')
          }
          super(message)
          this.name = 'Picky'
        }
      }
      class Renamed extends Error {
        constructor (message: string) {
          super(message)
          this.name = message.startsWith('x') ? 'Renamed' : 'Other'
        }
      }

      const picky = inContext(new Picky('picky one'), CONTEXT)
      expect(picky).to.not.be.an.instanceOf(Picky)
      expect(picky.name).to.equal('Picky')

      const renamed = inContext(new Renamed('x'), CONTEXT)
      expect(renamed).to.not.be.an.instanceOf(Renamed)
      expect(renamed.name).to.equal('Renamed')
    })
  })
})
