/**
 * nim-libp2p cannot be built here (its package index is unreachable), so its side of the wire is written out byte
 * for byte from its sources (vacp2p/nim-libp2p `libp2p/protocols/rendezvous/protobuf.nim` and `rendezvous.nim`):
 * proto2 messages from `protobuf_serialization`, fields in number order, `required` fields always written, zero
 * enums included. What Nim sends is fed to our point; what Nim's point answers is fed to our client; and what our
 * side writes is checked against what Nim's decoder requires, field by field on the raw bytes (a protons decode
 * would hide an absent field behind its default).
 *
 * Nim's rules, from those sources: `Message.msgType` required; `Register.ns` and `signedPeerRecord` required;
 * `RegisterResponse.status` and `DiscoverResponse.status` required; `Unregister.ns` required; unknown fields
 * skipped; its client reads a REGISTER_RESPONSE of at most 4096 bytes (`readLp(4096)`) and drops a discovered
 * registration without a TTL or with one above 72 h; its cookies are `Cookie{offset (1, required), ns (2)}`, two
 * bytes (`08 00`) on an empty result; it answers E_INVALID_NAMESPACE for a namespace nobody registered in.
 */
import { lpStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../src/client/index.ts'
import { PROTOCOL } from '../../src/constants.ts'
import { startFakeServer } from '../client/fixtures/fake-server.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import { createClientNode, createServerNode, ownRecord } from '../server/fixtures.ts'
import type { RendezvousClient } from '../../src/client/index.ts'
import type { FakeServer } from '../client/fixtures/fake-server.ts'
import type { ClientNode, ServerNode } from '../server/fixtures.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

// --- a protobuf writer and reader small enough to check by eye against Nim's encoder

const varint = {
  encode (value: number | bigint): number[] {
    let rest = BigInt(value)
    const bytes: number[] = []
    do {
      const low = Number(rest & 0x7fn)
      rest >>= 7n
      bytes.push(rest > 0n ? low | 0x80 : low)
    } while (rest > 0n)
    return bytes
  },
  /** The value at `offset` and the offset after it */
  decode (buf: Uint8Array, offset: number): [number, number] {
    let value = 0
    let scale = 1
    for (let i = offset; i < buf.byteLength; i++) {
      value += (buf[i] & 0x7f) * scale
      scale *= 128
      if ((buf[i] & 0x80) === 0) {
        return [value, i + 1]
      }
    }
    throw new Error('truncated varint')
  }
}

function varintField (field: number, value: number | bigint): Uint8Array {
  return Uint8Array.from([...varint.encode(field << 3), ...varint.encode(value)])
}

function bytesField (field: number, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value
  return Uint8Array.from([...varint.encode((field << 3) | 2), ...varint.encode(bytes.byteLength), ...bytes])
}

function concat (...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap(part => [...part]))
}

interface Field { field: number, value: bigint | Uint8Array }

/** Every field of a message, in order; lengths and varints read as written */
function fieldsOf (bytes: Uint8Array | Uint8ArrayList): Field[] {
  const buf = bytes instanceof Uint8Array ? bytes : bytes.subarray()
  const fields: Field[] = []
  let offset = 0

  while (offset < buf.byteLength) {
    const [tag, afterTag] = varint.decode(buf, offset)
    offset = afterTag
    const field = tag >> 3

    if ((tag & 7) === 0) {
      const [value, after] = varint.decode(buf, offset)
      offset = after
      fields.push({ field, value: BigInt(value) })
    } else if ((tag & 7) === 2) {
      const [length, after] = varint.decode(buf, offset)
      offset = after
      fields.push({ field, value: buf.subarray(offset, offset + length) })
      offset += length
    } else {
      throw new Error(`wire type ${tag & 7}: nothing in rendezvous uses it`)
    }
  }

  return fields
}

function one (fields: Field[], field: number, what: string): bigint | Uint8Array {
  const found = fields.filter(f => f.field === field)
  expect(found, `${what} (field ${field}) must be present once, as Nim requires it`).to.have.lengthOf(1)
  return found[0].value
}

// --- Nim's messages, as its encoder writes them

const NIM_TTL = 7200 // MinimumDuration: the TTL Nim's advertise sends by default

function nimRegister (ns: string, spr: Uint8Array, ttl: number = NIM_TTL): Uint8Array {
  return concat(varintField(1, 0), bytesField(2, concat(bytesField(1, ns), bytesField(2, spr), varintField(3, ttl))))
}

function nimDiscover (ns: string, limit: number, cookie?: Uint8Array): Uint8Array {
  return concat(varintField(1, 3), bytesField(5, concat(bytesField(1, ns), varintField(2, limit), ...(cookie == null ? [] : [bytesField(3, cookie)]))))
}

function nimUnregister (ns: string): Uint8Array {
  return concat(varintField(1, 2), bytesField(4, bytesField(1, ns)))
}

describe('interop: nim-libp2p, byte-exact vectors', () => {
  describe('Nim client -> our point', () => {
    let server: ServerNode
    let nim: ClientNode

    beforeEach(async () => {
      server = await createServerNode()
      nim = await createClientNode()
    })

    afterEach(async () => {
      await nim?.stop()
      await server?.stop()
    })

    /** Writes Nim's bytes on a new stream, as Nim does (one request per stream), and reads the raw reply */
    async function send (request: Uint8Array, reply = true): Promise<Uint8Array | undefined> {
      const stream = await nim.dialProtocol(server.getMultiaddrs(), PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(request, { signal: AbortSignal.timeout(5000) })
      const answer = reply ? (await lp.read({ signal: AbortSignal.timeout(5000) })).subarray() : undefined
      await stream.close()
      return answer
    }

    it('answers Nim\'s REGISTER (ttl 7200 always sent) with a REGISTER_RESPONSE Nim decodes, under its 4096-byte read', async () => {
      const reply = await send(nimRegister('nim', await ownRecord(nim))) ?? new Uint8Array()

      expect(reply.byteLength).to.be.at.most(4096)
      const message = fieldsOf(reply)
      expect(one(message, 1, 'msgType')).to.equal(1n)
      const response = fieldsOf(one(message, 3, 'registerResponse') as Uint8Array)
      expect(one(response, 1, 'status')).to.equal(0n)
      expect(one(response, 3, 'ttl')).to.equal(BigInt(NIM_TTL))
    })

    it('answers Nim\'s DISCOVER with registrations that each carry ns, record and a TTL within 72 h, and a cookie that continues', async () => {
      await send(nimRegister('nim', await ownRecord(nim)))
      const reply = await send(nimDiscover('nim', 1000)) ?? new Uint8Array()

      const message = fieldsOf(reply)
      expect(one(message, 1, 'msgType')).to.equal(4n)
      const response = fieldsOf(one(message, 6, 'discoverResponse') as Uint8Array)
      expect(one(response, 3, 'status')).to.equal(0n)
      const registrations = response.filter(f => f.field === 1).map(f => fieldsOf(f.value as Uint8Array))
      expect(registrations).to.have.lengthOf(1)
      for (const registration of registrations) {
        expect(new TextDecoder().decode(one(registration, 1, 'ns') as Uint8Array)).to.equal('nim')
        expect((one(registration, 2, 'signedPeerRecord') as Uint8Array).byteLength).to.be.greaterThan(0)
        // Nim's client drops a registration without a TTL or with one over its maximum
        expect(Number(one(registration, 3, 'ttl'))).to.be.within(1, 72 * 3600)
      }

      const cookie = one(response, 2, 'cookie') as Uint8Array
      const next = fieldsOf(one(fieldsOf(await send(nimDiscover('nim', 1000, cookie)) ?? new Uint8Array()), 6, 'discoverResponse') as Uint8Array)
      expect(one(next, 3, 'status')).to.equal(0n)
      expect(next.filter(f => f.field === 1)).to.be.empty()
    })

    it('acts on Nim\'s UNREGISTER, which has no reply', async () => {
      await send(nimRegister('nim', await ownRecord(nim)))
      await send(nimUnregister('nim'), false)

      const response = fieldsOf(one(fieldsOf(await send(nimDiscover('nim', 1000)) ?? new Uint8Array()), 6, 'discoverResponse') as Uint8Array)
      expect(response.filter(f => f.field === 1)).to.be.empty()
    })
  })

  describe('our client -> a Nim point', () => {
    let point: Libp2p
    let clientNode: Libp2p<{ rendezvous: RendezvousClient }>
    let fake: FakeServer

    beforeEach(async () => {
      point = await createMemoryNode({}, 'nim-point')
      clientNode = await createMemoryNode({ services: { rendezvous: rendezvousClient({ timeout: 2000 }) } }, 'client') as any
      fake = await startFakeServer(point, () => 'close')
    })

    afterEach(async () => {
      await clientNode?.stop()
      await point?.stop()
    })

    it('reads Nim\'s REGISTER_RESPONSE, and sends a REGISTER Nim decodes: msgType written, ns and record present, within 4096 bytes', async () => {
      fake.script = () => ({ raw: concat(varintField(1, 1), bytesField(3, concat(varintField(1, 0), varintField(3, NIM_TTL)))) })

      expect(await clientNode.services.rendezvous.register(point.getMultiaddrs(), 'nim')).to.equal(NIM_TTL)

      const sent = fake.requests[0]
      expect(sent.register?.ns).to.equal('nim')
      expect(sent.register?.signedPeerRecord?.byteLength).to.be.greaterThan(0)
      const { Message } = await import('../../src/pb/rendezvous.ts')
      const bytes = Message.encode(sent)
      expect(bytes.byteLength).to.be.at.most(4096)
      expect(one(fieldsOf(bytes), 1, 'msgType')).to.equal(0n)
    })

    it('reads Nim\'s DISCOVER_RESPONSE (its protobuf cookie, status 0 written) and sends the cookie back as it came', async () => {
      const spr = await ownRecord(point as any)
      const cookie = concat(varintField(1, 1), bytesField(2, 'nim'))
      fake.script = () => ({
        raw: concat(varintField(1, 4), bytesField(6, concat(
          bytesField(1, concat(bytesField(1, 'nim'), bytesField(2, spr), varintField(3, 7000))),
          bytesField(2, cookie),
          varintField(3, 0)
        )))
      })

      const found = await clientNode.services.rendezvous.discover(point.getMultiaddrs(), 'nim')
      expect(found.registrations.map(r => r.peerId.toString())).to.deep.equal([point.peerId.toString()])
      expect(found.registrations[0].ttl).to.equal(7000)

      await clientNode.services.rendezvous.discover(point.getMultiaddrs(), 'nim')
      expect([...(fake.requests[1].discover?.cookie ?? [])]).to.deep.equal([...cookie])
      // Nim's server reads a DISCOVER limit of 0 as "nothing": ours always sends one within 1..1000
      expect(fake.requests.every(r => r.discover?.limit != null && r.discover.limit >= 1n && r.discover.limit <= 1000n)).to.be.true()
    })

    it('keeps Nim\'s two-byte cookie of an empty result, and reads E_INVALID_NAMESPACE for a namespace nobody used as empty', async () => {
      fake.script = () => ({ raw: concat(varintField(1, 4), bytesField(6, concat(bytesField(2, Uint8Array.of(0x08, 0x00)), varintField(3, 0)))) })
      const empty = await clientNode.services.rendezvous.discover(point.getMultiaddrs(), 'nim')
      expect([...(empty.cookie ?? [])]).to.deep.equal([0x08, 0x00])

      fake.script = () => ({ raw: concat(varintField(1, 4), bytesField(6, concat(varintField(3, 100), bytesField(4, '')))) })
      const unknown = await clientNode.services.rendezvous.discover(point.getMultiaddrs(), 'nobody')
      expect(unknown.registrations).to.be.empty()
    })

    it('sends an UNREGISTER Nim decodes: msgType 2 and the namespace (the extra id field is one Nim skips)', async () => {
      await clientNode.services.rendezvous.unregister(point.getMultiaddrs(), 'nim')
      await new Promise(resolve => setTimeout(resolve, 200))

      const { Message } = await import('../../src/pb/rendezvous.ts')
      const message = fieldsOf(Message.encode(fake.requests[0]))
      expect(one(message, 1, 'msgType')).to.equal(2n)
      expect(new TextDecoder().decode(one(fieldsOf(one(message, 4, 'unregister') as Uint8Array), 1, 'ns') as Uint8Array)).to.equal('nim')
    })
  })
})
