import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'

const { MessageType, ResponseStatus } = Message

describe('wire format', () => {
  it('writes type REGISTER (= 0) on the wire, which Rust and Nim require', () => {
    const bytes = Message.encode({ type: MessageType.REGISTER, register: { ns: 'a' } })
    // field 1 (type), varint, value 0
    expect(bytes.subarray(0, 2)).to.equalBytes(Uint8Array.from([0x08, 0x00]))
  })

  it('writes status OK (= 0) in a REGISTER_RESPONSE', () => {
    const bytes = Message.encode({ type: MessageType.REGISTER_RESPONSE, registerResponse: { status: ResponseStatus.OK, ttl: 7200n } })
    // type = 1, then field 3 (registerResponse) holding field 1 (status) = 0 and field 3 (ttl) = 7200
    expect(bytes).to.equalBytes(Uint8Array.from([0x08, 0x01, 0x1a, 0x05, 0x08, 0x00, 0x18, 0xa0, 0x38]))
  })

  it('decodes what a proto2 encoder writes for a DISCOVER_RESPONSE', () => {
    // hand-encoded as the spec's proto2 schema gives it: type = 4, discoverResponse { registrations [{ ns "a",
    // signedPeerRecord 0x0102, ttl 60 }], cookie 0x0a0b, status = E_INVALID_COOKIE (103) }
    const registration = [0x0a, 0x01, 0x61, 0x12, 0x02, 0x01, 0x02, 0x18, 0x3c]
    const body = [0x0a, registration.length, ...registration, 0x12, 0x02, 0x0a, 0x0b, 0x18, 0x67]
    const message = Message.decode(Uint8Array.from([0x08, 0x04, 0x32, body.length, ...body]))

    expect(message.type).to.equal(MessageType.DISCOVER_RESPONSE)
    expect(message.discoverResponse?.status).to.equal(ResponseStatus.E_INVALID_COOKIE)
    expect(message.discoverResponse?.cookie).to.equalBytes(Uint8Array.from([0x0a, 0x0b]))
    expect(message.discoverResponse?.registrations).to.have.lengthOf(1)
    expect(message.discoverResponse?.registrations[0]).to.deep.include({ ns: 'a', ttl: 60n })
  })

  it('leaves type and status undefined when a proto3 peer omits them, for the reader to default', () => {
    const message = Message.decode(Uint8Array.from([0x1a, 0x02, 0x18, 0x3c]))
    expect(message.type).to.be.undefined()
    expect(message.registerResponse?.status).to.be.undefined()
    expect(message.registerResponse?.ttl).to.equal(60n)
  })

  it('carries every status code of the spec with its number', () => {
    const codes = { OK: 0, E_INVALID_NAMESPACE: 100, E_INVALID_SIGNED_PEER_RECORD: 101, E_INVALID_TTL: 102, E_INVALID_COOKIE: 103, E_NOT_AUTHORIZED: 200, E_INTERNAL_ERROR: 300, E_UNAVAILABLE: 400 }

    for (const [name, code] of Object.entries(codes)) {
      const bytes = Message.encode({ registerResponse: { status: name as Message.ResponseStatus } })
      const varint = code < 128 ? [code] : [(code & 0x7f) | 0x80, code >> 7]
      expect(bytes).to.equalBytes(Uint8Array.from([0x1a, 1 + varint.length, 0x08, ...varint]), name)
    }
  })
})
