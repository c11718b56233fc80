/**
 * The server's own encoding of DISCOVER_RESPONSE must give the very bytes protons gives, for any response.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { Message } from '../../src/pb/rendezvous.ts'
import { encodeReply } from '../../src/server/reply-encoding.ts'

const { MessageType, ResponseStatus } = Message

const status = fc.constantFrom(...Object.values(ResponseStatus).filter((v): v is Message.ResponseStatus => typeof v === 'string'))
const bytes = fc.uint8Array({ maxLength: 600 }).map(b => new Uint8Array(b))
const registration = fc.record({
  ns: fc.option(fc.string({ unit: 'grapheme', maxLength: 80 }), { nil: undefined }),
  signedPeerRecord: fc.option(bytes, { nil: undefined }),
  ttl: fc.option(fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }), { nil: undefined })
}, { requiredKeys: [] })
const discoverResponse = fc.record({
  registrations: fc.array(registration, { maxLength: 60 }),
  cookie: fc.option(bytes, { nil: undefined }),
  status: fc.option(status, { nil: undefined }),
  statusText: fc.option(fc.string({ maxLength: 200 }), { nil: undefined })
}, { requiredKeys: ['registrations'] })

describe('server: reply encoding', () => {
  it('writes every DISCOVER_RESPONSE byte for byte as protons does', () => {
    fc.assert(fc.property(discoverResponse, (response) => {
      const reply: Message = { type: MessageType.DISCOVER_RESPONSE, discoverResponse: response as Message.DiscoverResponse }
      expect(encodeReply(reply)).to.equalBytes(Message.encode(reply))
    }), { numRuns: 300 })
  })

  it('round-trips a page of 1000 registrations of ~200 bytes, large lengths included', () => {
    const registrations = Array.from({ length: 1000 }, (_, i) => ({ ns: i % 2 === 0 ? 'a/ns' : 'b/ns', signedPeerRecord: new Uint8Array(200).fill(i % 256), ttl: BigInt(i * 1000) }))
    const reply: Message = { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations, cookie: new Uint8Array(44), status: ResponseStatus.OK, statusText: 'OK' } }
    const encoded = encodeReply(reply)
    expect(encoded).to.equalBytes(Message.encode(reply))
    expect(Message.decode(encoded).discoverResponse?.registrations).to.have.lengthOf(1000)
  })

  it('leaves every other reply, and a TTL beyond 2^53, to protons', () => {
    const replies: Message[] = [
      { type: MessageType.REGISTER_RESPONSE, registerResponse: { status: ResponseStatus.OK, statusText: 'OK', ttl: 7200n } },
      { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: [{ ns: 'a', ttl: 1n << 60n }] } },
      { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: [] }, register: { ns: 'x' } },
      // a refusal built without its list, as the server's error path does
      { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { status: ResponseStatus.E_INVALID_COOKIE, statusText: 'no' } as unknown as Message.DiscoverResponse }
    ]
    for (const reply of replies) {
      expect(encodeReply(reply)).to.equalBytes(Message.encode(reply))
    }
  })
})
