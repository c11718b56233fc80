/**
 * Spoofing: what an attacker on an open rendezvous point can try with records, namespaces and cookies, each
 * refused with the status the design gives it, and nothing of it stored or revealed. The basic cases (a record
 * signed by another key, a replay of an older record) are in test/server/register.spec.ts; these are the
 * variations an attacker would actually use, checked against the store afterwards.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { NodeSet } from './fixtures/nodes.ts'
import { discoverRaw, exchangeBytes, ownRecord, privateKeyOf, registerRaw, requestWithRawNamespace } from './fixtures/raw.ts'
import type { ClientNode, ServerNode } from './fixtures/nodes.ts'
import type { Record as Libp2pRecord } from '@libp2p/interface'

const { ResponseStatus } = Message

/** A record with any domain and payload type, sealed by `RecordEnvelope.seal` like a real one */
function customRecord (domain: string, codec: Uint8Array, payload: Uint8Array): Libp2pRecord {
  return { domain, codec, marshal: () => payload, equals: () => false }
}

async function stats (server: ServerNode): Promise<{ registrations: number, namespaces: number }> {
  return server.services.rendezvous.store.stats(Date.now())
}

function text (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

describe('stress: spoofing', function () {
  this.timeout(60_000)
  const nodes = new NodeSet()
  let server: ServerNode
  let victim: ClientNode
  let attacker: ClientNode

  beforeEach(async () => {
    server = await nodes.server({ minTtl: 1 })
    victim = await nodes.client()
    attacker = await nodes.client()
  })

  afterEach(async () => { await nodes.stopAll() })

  it('refuses every forged or borrowed record an attacker can make from a victim\'s real one, and stores none', async () => {
    const victimRecord = await ownRecord(victim)
    expect((await registerRaw(victim, server, { ns: 'spoof', signedPeerRecord: victimRecord })).status).to.equal(ResponseStatus.OK)

    // what the attacker learns from the point itself: the victim's genuine, correctly signed record
    const seen = await discoverRaw(attacker, server, { ns: 'spoof' })
    const stolen = seen.registrations[0].signedPeerRecord as Uint8Array<ArrayBuffer>
    expect(stolen).to.equalBytes(victimRecord)

    const attackerKey = privateKeyOf(attacker)
    const envelope = RecordEnvelope.createFromProtobuf(stolen)
    const victimPayload = PeerRecord.createFromProtobuf(envelope.payload)
    const otherKey = await generateKeyPair('Ed25519')

    const attempts: Array<{ name: string, record: Uint8Array, status: Message.ResponseStatus }> = [
      // a perfectly valid record, but of the victim: a peer may only register itself
      { name: 'the victim\'s own record, replayed by the attacker', record: stolen, status: ResponseStatus.E_NOT_AUTHORIZED },
      // the victim's addresses and id, signed by the attacker
      {
        name: 'the victim\'s record re-signed with the attacker\'s key',
        record: (await RecordEnvelope.seal(victimPayload, attackerKey)).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      },
      // the victim's signature under the attacker's public key
      {
        name: 'the victim\'s envelope with the attacker\'s public key in it',
        record: new RecordEnvelope({ ...envelope, publicKey: attackerKey.publicKey }).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      },
      // a key that is neither the victim's nor the attacker's vouching for the victim, with a huge seq
      {
        name: 'a record about the victim signed by a third key',
        record: (await RecordEnvelope.seal(new PeerRecord({ peerId: victim.peerId, multiaddrs: victim.getMultiaddrs(), seqNumber: 2n ** 62n }), otherKey)).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      },
      {
        name: 'a valid record of a third peer',
        record: (await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(otherKey), multiaddrs: [multiaddr('/memory/third')] }), otherKey)).marshal(),
        status: ResponseStatus.E_NOT_AUTHORIZED
      },
      {
        name: 'the attacker\'s record sealed under another signing domain',
        record: (await RecordEnvelope.seal(customRecord('libp2p-routing-state', PeerRecord.CODEC, new PeerRecord({ peerId: attacker.peerId, multiaddrs: attacker.getMultiaddrs() }).marshal()), attackerKey)).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      },
      {
        name: 'the attacker\'s record with another payload type',
        record: (await RecordEnvelope.seal(customRecord(PeerRecord.DOMAIN, Uint8Array.from([0x03, 0x02]), new PeerRecord({ peerId: attacker.peerId, multiaddrs: attacker.getMultiaddrs() }).marshal()), attackerKey)).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      },
      {
        name: 'the victim\'s envelope with its signature cut short',
        record: new RecordEnvelope({ ...envelope, signature: envelope.signature.subarray(0, 32) }).marshal(),
        status: ResponseStatus.E_INVALID_SIGNED_PEER_RECORD
      }
    ]

    for (const attempt of attempts) {
      for (const ns of ['spoof', 'elsewhere']) {
        const response = await registerRaw(attacker, server, { ns, signedPeerRecord: attempt.record as Uint8Array<ArrayBuffer> })
        expect(response.status, `${attempt.name} in "${ns}": ${response.statusText}`).to.equal(attempt.status)
      }
    }

    // only the victim's own registration, with its own bytes
    const after = await discoverRaw(victim, server, {})
    expect(after.registrations.map(r => [r.ns, text(r.signedPeerRecord ?? new Uint8Array())])).to.deep.equal([['spoof', text(victimRecord)]])
    expect(await stats(server)).to.deep.equal({ registrations: 1, namespaces: 1 })
  })

  it('never lets a replayed older record replace a newer one, whatever TTL it asks for, at either point sharing the store', async () => {
    const store = new MemoryRegistrationStore()
    const first = await nodes.server({ store, minTtl: 1, maxTtl: 7200 })
    const second = await nodes.server({ store, minTtl: 1, maxTtl: 7200 })
    const records = await Promise.all([100n, 200n, 300n].map(async seq => ownRecord(victim, [multiaddr(`/memory/v${seq}`)], seq)))

    expect((await registerRaw(victim, first, { ns: 'replay', signedPeerRecord: records[1], ttl: 60n })).status).to.equal(ResponseStatus.OK)
    expect((await registerRaw(victim, second, { ns: 'replay', signedPeerRecord: records[2], ttl: 60n })).status).to.equal(ResponseStatus.OK)

    for (const [point, old] of [[first, records[0]], [first, records[1]], [second, records[0]], [second, records[1]]] as const) {
      const response = await registerRaw(victim, point, { ns: 'replay', signedPeerRecord: old, ttl: 7200n })
      expect(response.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    }

    for (const point of [first, second]) {
      const found = await discoverRaw(attacker, point, { ns: 'replay' })
      expect(found.registrations).to.have.lengthOf(1)
      expect(found.registrations[0].signedPeerRecord).to.equalBytes(records[2])
      // the replay asked for 7200 s; the registration kept the 60 s it was given
      expect(Number(found.registrations[0].ttl)).to.be.at.most(60)
    }

    expect(await store.stats(Date.now())).to.deep.equal({ registrations: 1, namespaces: 1 })

    // the current record sent again is a refresh, not a replay
    expect((await registerRaw(victim, first, { ns: 'replay', signedPeerRecord: records[2], ttl: 120n })).status).to.equal(ResponseStatus.OK)
  })

  it('refuses namespaces that are not UTF-8 or hold control characters in REGISTER and DISCOVER, ignores them in UNREGISTER, and stores none', async () => {
    const record = await ownRecord(attacker)
    expect((await registerRaw(attacker, server, { ns: 'a', signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)
    expect((await registerRaw(victim, server, { ns: 'ab', signedPeerRecord: await ownRecord(victim) })).status).to.equal(ResponseStatus.OK)

    const rawNamespaces: Array<[string, Uint8Array]> = [
      ['a lone 0xff', Uint8Array.from([0x61, 0xff])],
      ['0xff between letters', Uint8Array.from([0x61, 0xff, 0x62])],
      ['an overlong "/"', Uint8Array.from([0xc0, 0xaf])],
      ['a UTF-16 surrogate', Uint8Array.from([0x61, 0xed, 0xa0, 0x80])],
      ['a cut multi-byte sequence', Uint8Array.from([0x61, 0xe2, 0x82])],
      ['a continuation byte alone', Uint8Array.from([0x80, 0x61])]
    ]
    const encoder = new TextEncoder()
    const controls = ['a\u0000b', 'a\nb', 'a\rb', '\u001b[31mred', 'a\u007f', 'a\u0085b', 'a\u009bb', '\ufffd']

    for (const [name, ns] of [...rawNamespaces, ...controls.map(c => [JSON.stringify(c), encoder.encode(c)] as [string, Uint8Array])]) {
      const registered = await exchangeBytes(attacker, server, requestWithRawNamespace('register', ns, record))
      expect(registered?.registerResponse?.status, `REGISTER with ${name}`).to.equal(ResponseStatus.E_INVALID_NAMESPACE)

      const discovered = await exchangeBytes(attacker, server, requestWithRawNamespace('discover', ns))
      expect(discovered?.discoverResponse?.status, `DISCOVER with ${name}`).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
      expect(discovered?.discoverResponse?.registrations ?? []).to.be.empty()

      // no reply by the spec: the server reads it, ignores it and closes
      expect(await exchangeBytes(attacker, server, requestWithRawNamespace('unregister', ns))).to.be.undefined()
    }

    // 128 two-byte characters are 256 bytes: one over, though only 128 characters
    expect((await registerRaw(attacker, server, { ns: 'é'.repeat(128), signedPeerRecord: record })).status).to.equal(ResponseStatus.E_INVALID_NAMESPACE)
    expect((await registerRaw(attacker, server, { ns: `${'é'.repeat(127)}x`, signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)

    // the UNREGISTERs above removed nothing: "a" + 0xff decodes to "a\ufffd", which is not "a"
    const names = (await discoverRaw(victim, server, {})).registrations.map(r => r.ns).sort()
    expect(names).to.deep.equal(['a', 'ab', `${'é'.repeat(127)}x`])
    expect((await stats(server)).registrations).to.equal(3)
  })

  it('refuses forged cookies, cookies of another namespace or scope and cookies of another point with E_INVALID_COOKIE, revealing nothing', async () => {
    const other = await nodes.server({ minTtl: 1 })
    const peers = await nodes.clients(4)

    for (const [i, peer] of peers.entries()) {
      expect((await registerRaw(peer, server, { ns: i % 2 === 0 ? 'a' : 'b', signedPeerRecord: await ownRecord(peer) })).status).to.equal(ResponseStatus.OK)
    }

    const pageA = await discoverRaw(attacker, server, { ns: 'a', limit: 1n })
    const pageAll = await discoverRaw(attacker, server, { limit: 1n })
    const foreign = await discoverRaw(attacker, other, { ns: 'a' })
    const genuine = pageA.cookie as Uint8Array<ArrayBuffer>
    expect(genuine.byteLength).to.be.at.least(8)

    const edited = (edit: (cookie: Uint8Array) => void): Uint8Array<ArrayBuffer> => {
      const copy = Uint8Array.from(genuine)
      edit(copy)
      return copy
    }

    const forgeries: Array<[string, string | undefined, Uint8Array<ArrayBuffer>]> = [
      ['random bytes of the right length', 'a', crypto.getRandomValues(new Uint8Array(genuine.byteLength))],
      ['all zeros', 'a', new Uint8Array(genuine.byteLength)],
      ['the cursor rewound to 0', 'a', edited(c => { c.fill(0, 0, 8) })],
      ['the cursor moved forward', 'a', edited(c => { c[7] ^= 0x01 })],
      ['the cursor at the end of time', 'a', edited(c => { c.fill(0xff, 0, 8) })],
      ['one MAC bit flipped', 'a', edited(c => { c[c.byteLength - 1] ^= 0x01 })],
      ['another version', 'a', edited(c => { c[9] = '2'.charCodeAt(0) })],
      ['cut by a byte', 'a', genuine.slice(0, -1)],
      ['a byte longer', 'a', Uint8Array.from([...genuine, 0x41])],
      ['8 bytes, the shortest a Rust client sends', 'a', genuine.slice(0, 8)],
      ['1 KiB', 'a', new Uint8Array(1024).fill(0x41)],
      ['4 KiB', 'a', new Uint8Array(4096).fill(0x41)],
      ['a cookie of namespace "a" used for "b"', 'b', genuine],
      ['a cookie of namespace "a" used for all namespaces', undefined, genuine],
      ['a cookie for all namespaces used for "a"', 'a', pageAll.cookie as Uint8Array<ArrayBuffer>],
      ['a cookie from another rendezvous point', 'a', foreign.cookie as Uint8Array<ArrayBuffer>]
    ]

    for (const [name, ns, cookie] of forgeries) {
      const response = await discoverRaw(attacker, server, { ...(ns == null ? {} : { ns }), cookie })
      expect(response.status, name).to.equal(ResponseStatus.E_INVALID_COOKIE)
      expect(response.registrations, name).to.be.empty()
      expect(response.cookie ?? new Uint8Array(), name).to.have.lengthOf(0)
    }

    // the genuine cookie still continues where its page ended
    const next = await discoverRaw(attacker, server, { ns: 'a', cookie: genuine })
    expect(next.status).to.equal(ResponseStatus.OK)
    expect(next.registrations).to.have.lengthOf(1)
    expect(next.registrations[0].signedPeerRecord).to.not.equalBytes(pageA.registrations[0].signedPeerRecord ?? new Uint8Array())
  })
})
