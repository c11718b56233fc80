import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { createClientNode, createServerNode, discover, exchange, ownRecord, register } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'

const { ResponseStatus, MessageType } = Message

describe('server: REGISTER', () => {
  let server: ServerNode
  let client: ClientNode

  beforeEach(async () => {
    server = await createServerNode({ minTtl: 60, maxTtl: 3600 })
    client = await createClientNode()
  })

  afterEach(async () => {
    await client?.stop()
    await server?.stop()
  })

  it('accepts a registration and answers with the default TTL when none was asked for', async () => {
    const response = await register(client, server, 'chat')
    expect(response.status).to.equal(ResponseStatus.OK)
    // the spec's default of 2 h is above this server's maxTtl, so the default follows maxTtl down
    expect(response.ttl).to.equal(3600n)
  })

  it('grants the TTL asked for when it lies within the limits', async () => {
    const response = await register(client, server, 'chat', { ttl: 120n })
    expect(response).to.include({ status: ResponseStatus.OK, ttl: 120n })
  })

  it('treats a TTL of 0 as absent and grants the default', async () => {
    const response = await register(client, server, 'chat', { ttl: 0n })
    expect(response).to.include({ status: ResponseStatus.OK, ttl: 3600n })
  })

  it('refuses an empty namespace with E_INVALID_NAMESPACE', async () => {
    const response = await register(client, server, '')
    expect(response.status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
    expect(response.statusText).to.match(/empty/)
  })

  it('refuses a namespace of 256 UTF-8 bytes with E_INVALID_NAMESPACE and accepts one of 255', async () => {
    expect((await register(client, server, 'x'.repeat(256))).status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
    expect((await register(client, server, 'x'.repeat(255))).status).to.equal(ResponseStatus.OK)
  })

  it('refuses a namespace with control characters with E_INVALID_NAMESPACE', async () => {
    expect((await register(client, server, 'chat\n')).status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
  })

  it('refuses a TTL above the maximum with E_INVALID_TTL', async () => {
    expect((await register(client, server, 'chat', { ttl: 3601n })).status).to.equal(ResponseStatus.E_INVALID_TTL)
    expect((await register(client, server, 'chat', { ttl: 0xffff_ffff_ffff_ffffn })).status).to.equal(ResponseStatus.E_INVALID_TTL)
    expect((await discover(client, server, { ns: 'chat' })).registrations).to.be.empty()
  })

  it('registers a TTL below the minimum for the minimum, and says so in the reply (ttlBelowMin: clamp, the default)', async () => {
    const response = await register(client, server, 'chat', { ttl: 59n })
    expect(response.status).to.equal(ResponseStatus.OK)
    expect(response.ttl).to.equal(60n)
    const [registration] = (await discover(client, server, { ns: 'chat' })).registrations ?? []
    expect(registration.ttl).to.equal(60n)
  })

  it('refuses a TTL below the minimum with E_INVALID_TTL when ttlBelowMin is reject', async () => {
    const strict = await createServerNode({ minTtl: 60, maxTtl: 3600, ttlBelowMin: 'reject' })

    try {
      expect((await register(client, strict, 'chat', { ttl: 59n })).status).to.equal(ResponseStatus.E_INVALID_TTL)
      expect((await register(client, strict, 'chat', { ttl: 60n })).status).to.equal(ResponseStatus.OK)
    } finally {
      await strict.stop()
    }
  })

  it('refuses a ttlBelowMin that is neither clamp nor reject', async () => {
    await expect(createServerNode({ ttlBelowMin: 'round' as any })).to.eventually.be.rejectedWith(/ttlBelowMin/)
  })

  it('refuses a register without a record with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const reply = await exchange(client, server, { type: MessageType.REGISTER, register: { ns: 'chat' } })
    expect(reply.registerResponse?.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
  })

  it('refuses bytes that are not a signed envelope with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const response = await register(client, server, 'chat', { signedPeerRecord: new Uint8Array([1, 2, 3, 4]) })
    expect(response.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
  })

  it('refuses an envelope whose signature does not match its contents with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const record = await ownRecord(client)
    record[record.length - 1] ^= 0xff
    const response = await register(client, server, 'chat', { signedPeerRecord: record })
    expect(response.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
  })

  it('refuses a record about this peer signed by another key with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const otherKey = await generateKeyPair('Ed25519')
    const record = await sealPeerRecord(otherKey, client.peerId, client.getMultiaddrs()) as Uint8Array<ArrayBuffer>
    const response = await register(client, server, 'chat', { signedPeerRecord: record })
    expect(response.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    expect(response.statusText).to.match(/signed by/)
  })

  it('refuses a valid record of another peer with E_NOT_AUTHORIZED: a peer may only register itself', async () => {
    const otherKey = await generateKeyPair('Ed25519')
    const record = await sealPeerRecord(otherKey, peerIdFromPrivateKey(otherKey), [multiaddr('/memory/elsewhere')]) as Uint8Array<ArrayBuffer>
    const response = await register(client, server, 'chat', { signedPeerRecord: record })
    expect(response.status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
    expect((await discover(client, server, { ns: 'chat' })).registrations).to.be.empty()
  })

  it('refuses a record without addresses with E_INVALID_SIGNED_PEER_RECORD', async () => {
    const response = await register(client, server, 'chat', { signedPeerRecord: await ownRecord(client, []) })
    expect(response.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    expect(response.statusText).to.match(/no address/)
  })

  it('refuses a replayed older record with E_INVALID_SIGNED_PEER_RECORD and keeps the newer one', async () => {
    const newer = await ownRecord(client, [multiaddr('/memory/newer')], 200n)
    const older = await ownRecord(client, [multiaddr('/memory/older')], 100n)
    expect((await register(client, server, 'chat', { signedPeerRecord: newer })).status).to.equal(ResponseStatus.OK)
    expect((await register(client, server, 'chat', { signedPeerRecord: older })).status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    const found = await discover(client, server, { ns: 'chat' })
    expect(found.registrations).to.have.lengthOf(1)
    expect(found.registrations[0].signedPeerRecord).to.equalBytes(newer)
  })

  it('replaces the registration of a peer that registers again, with the new TTL and addresses', async () => {
    await register(client, server, 'chat', { ttl: 100n, signedPeerRecord: await ownRecord(client, [multiaddr('/memory/first')], 1n) })
    const second = await ownRecord(client, [multiaddr('/memory/second')], 2n)
    expect(await register(client, server, 'chat', { ttl: 200n, signedPeerRecord: second })).to.include({ status: ResponseStatus.OK, ttl: 200n })

    const found = await discover(client, server, { ns: 'chat' })
    expect(found.registrations).to.have.lengthOf(1)
    expect(found.registrations[0].signedPeerRecord).to.equalBytes(second)
    expect(Number(found.registrations[0].ttl)).to.be.within(199, 200)
  })

  it('reads a REGISTER without a type field as REGISTER, as proto3 encoders send it', async () => {
    const reply = await exchange(client, server, { register: { ns: 'chat', signedPeerRecord: await ownRecord(client) } })
    expect(reply.type).to.equal(MessageType.REGISTER_RESPONSE)
    expect(reply.registerResponse?.status).to.equal(ResponseStatus.OK)
  })
})
