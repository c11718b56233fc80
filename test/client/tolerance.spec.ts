/**
 * The client against a scripted server that behaves like the other implementations (and their bugs) do:
 * proto3 peers that omit zero values, short cookies, bad registrations, silence, EOF, wrong types, absurd TTLs.
 */
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import all from 'it-all'
import pWaitFor from 'p-wait-for'
import { rendezvousClient } from '../../src/client/index.ts'
import { DEFAULT_TTL_SECONDS, MAX_DISCOVERED_TTL_SECONDS, MAX_TTL_SECONDS } from '../../src/constants.ts'
import { InvalidNamespaceError, InvalidResponseError, NoAddressesError, NoRendezvousPointsError, RendezvousError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { openPeerRecord, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { fail, ok, releaseHanging, startFakeServer } from './fixtures/fake-server.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import { fakePeer, recordSignedByAnother, tampered } from './fixtures/records.ts'
import type { FakeServer } from './fixtures/fake-server.ts'
import type { FakePeer } from './fixtures/records.ts'
import type { RendezvousClient } from '../../src/client/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const { MessageType, ResponseStatus } = Message
const U64_MAX = 2n ** 64n - 1n
const CLIENT_TIMEOUT = 1000

describe('rendezvous client against servers that behave differently', function () {
  this.timeout(20_000)

  let server: Libp2p
  let clientNode: Libp2p<{ rendezvous: RendezvousClient }>
  let client: RendezvousClient
  let fake: FakeServer
  let point: Multiaddr[]
  let peers: FakePeer[]

  before(async () => {
    server = await createNode()
    clientNode = await createNode({ rendezvous: rendezvousClient({ timeout: CLIENT_TIMEOUT }) })
    client = clientNode.services.rendezvous
    fake = await startFakeServer(server, () => 'close')
    point = server.getMultiaddrs()
    peers = await Promise.all([fakePeer(), fakePeer(), fakePeer()])
  })

  beforeEach(() => {
    fake.requests = []
    client.resetCookies(point)
  })

  afterEach(() => {
    releaseHanging(fake)
    fake.hanging = []
  })

  after(async () => {
    await stopAll([clientNode, server])
  })

  describe('register', () => {
    it('sends REGISTER with the type written, the namespace, its own signed record and no ttl when none is asked', async () => {
      fake.script = () => ok.register(7200n)

      const ttl = await client.register(point, 'chat')

      expect(ttl).to.equal(7200)
      expect(fake.requests).to.have.lengthOf(1)
      const request = fake.requests[0]
      expect(request.type).to.equal(MessageType.REGISTER)
      expect(request.register?.ns).to.equal('chat')
      expect(request.register?.ttl).to.be.undefined()

      const record = await openPeerRecord(request.register?.signedPeerRecord ?? new Uint8Array())
      expect(record.peerId.equals(clientNode.peerId)).to.be.true()
      // the record names the peer itself, so its addresses carry no /p2p/<self>
      expect(record.multiaddrs.map(ma => ma.toString())).to.deep.equal(
        clientNode.getMultiaddrs().map(ma => ma.toString().replace(`/p2p/${clientNode.peerId.toString()}`, ''))
      )
    })

    it('sends the ttl asked for, in seconds', async () => {
      fake.script = () => ok.register(10_000n)

      expect(await client.register(point, 'chat', { ttl: 10_000 })).to.equal(10_000)
      expect(fake.requests[0].register?.ttl).to.equal(10_000n)
    })

    it('reads a reply without status as OK, as proto3 peers omit the zero enum', async () => {
      fake.script = () => ({ type: MessageType.REGISTER_RESPONSE, registerResponse: { ttl: 9000n } })

      expect(await client.register(point, 'chat')).to.equal(9000)
    })

    it('returns the requested ttl, or the default, when the reply carries none', async () => {
      fake.script = () => ({ type: MessageType.REGISTER_RESPONSE, registerResponse: {} })

      expect(await client.register(point, 'chat')).to.equal(DEFAULT_TTL_SECONDS)
      expect(await client.register(point, 'chat', { ttl: 8000 })).to.equal(8000)
    })

    it('clamps an absurd granted ttl (2^64-1) to the spec maximum', async () => {
      fake.script = () => ok.register(U64_MAX)

      expect(await client.register(point, 'chat')).to.equal(MAX_TTL_SECONDS)
    })

    it('retries once without a ttl when the point answers E_INVALID_TTL', async () => {
      fake.script = (request) => request.register?.ttl != null ? fail.register(ResponseStatus.E_INVALID_TTL) : ok.register(7200n)

      expect(await client.register(point, 'chat', { ttl: 60 })).to.equal(7200)
      expect(fake.requests.map(r => r.register?.ttl)).to.deep.equal([60n, undefined])
    })

    it('gives up after the one retry and reports the status', async () => {
      fake.script = () => fail.register(ResponseStatus.E_INVALID_TTL, 'no')

      const err = await client.register(point, 'chat', { ttl: 60 }).catch(err => err)
      expect(err).to.be.an.instanceOf(RendezvousError)
      expect(err.status).to.equal(ResponseStatus.E_INVALID_TTL)
      expect(fake.requests).to.have.lengthOf(2)
    })

    it('retries once with the spec\'s default ttl when a REGISTER without one gets E_INVALID_TTL (the earlier JS server requires one)', async () => {
      fake.script = (request) => request.register?.ttl == null ? fail.register(ResponseStatus.E_INVALID_TTL) : ok.register(request.register.ttl)

      expect(await client.register(point, 'chat')).to.equal(DEFAULT_TTL_SECONDS)
      expect(fake.requests.map(r => r.register?.ttl)).to.deep.equal([undefined, BigInt(DEFAULT_TTL_SECONDS)])
    })

    it('gives up after that one retry too', async () => {
      fake.script = () => fail.register(ResponseStatus.E_INVALID_TTL)

      await expect(client.register(point, 'chat')).to.eventually.be.rejectedWith(RendezvousError)
      expect(fake.requests).to.have.lengthOf(2)
    })

    it('turns a refusal into a RendezvousError carrying the status, its code and the status text', async () => {
      fake.script = () => fail.register(ResponseStatus.E_NOT_AUTHORIZED, 'too many registrations')

      const err = await client.register(point, 'chat').catch(err => err)
      expect(err).to.be.an.instanceOf(RendezvousError)
      expect(err.status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
      expect(err.code).to.equal(200)
      expect(err.message).to.include('too many registrations')
    })

    it('refuses a ttl of 0, a negative or a fractional ttl before sending anything', async () => {
      fake.script = () => ok.register()

      for (const ttl of [0, -1, 1.5, Number.NaN]) {
        await expect(client.register(point, 'chat', { ttl })).to.eventually.be.rejectedWith(InvalidParametersError)
      }

      expect(fake.requests).to.be.empty()
    })

    it('refuses an invalid namespace before sending anything', async () => {
      await expect(client.register(point, '')).to.eventually.be.rejectedWith(InvalidNamespaceError)
      await expect(client.register(point, 'a'.repeat(256))).to.eventually.be.rejectedWith(InvalidNamespaceError)
      expect(fake.requests).to.be.empty()
    })

    it('throws NoAddressesError before sending when there is no address to put in the record', async () => {
      await expect(client.register(point, 'chat', { multiaddrs: [] })).to.eventually.be.rejectedWith(NoAddressesError)
      expect(fake.requests).to.be.empty()
    })

    it('throws NoAddressesError for a node that listens nowhere', async () => {
      const silent = await createNode({ rendezvous: rendezvousClient() }, { listen: false })

      try {
        await expect(silent.services.rendezvous.register(point, 'chat')).to.eventually.be.rejectedWith(NoAddressesError)
        expect(fake.requests).to.be.empty()
      } finally {
        await silent.stop()
      }
    })
  })

  describe('unregister', () => {
    it('sends UNREGISTER with the namespace and its own peer id bytes, which legacy servers require', async () => {
      fake.script = () => 'close'

      await client.unregister(point, 'chat')

      // the point reads it after the client is done; give it the time to
      await pWaitFor(() => fake.requests.length === 1, { interval: 10, timeout: { milliseconds: 5000, message: 'the scripted point got no request within 5 s' } })
      expect(fake.requests[0].type).to.equal(MessageType.UNREGISTER)
      expect(fake.requests[0].unregister?.ns).to.equal('chat')
      expect(fake.requests[0].unregister?.id).to.equalBytes(clientNode.peerId.toMultihash().bytes)
    })

    it('does not wait for a reply from a point that never answers or closes', async () => {
      fake.script = () => 'hang'

      await client.unregister(point, 'chat')
      await pWaitFor(() => fake.requests.length === 1, { interval: 10, timeout: { milliseconds: 5000, message: 'the scripted point got no request within 5 s' } })
    })
  })

  describe('discover', () => {
    it('asks for all namespaces with the namespace absent, and the default limit 1000 when none (or 0) is given', async () => {
      fake.script = () => ok.discover()

      await client.discover(point)
      await client.discover(point, undefined, { limit: 0 })

      for (const request of fake.requests) {
        expect(request.type).to.equal(MessageType.DISCOVER)
        expect(request.discover).to.not.have.property('ns')
        // Rust returns every registration to a DISCOVER without a limit, and none for limit 0
        expect(request.discover?.limit).to.equal(1000n)
        expect(request.discover).to.not.have.property('cookie')
      }
    })

    it('sends the namespace and the limit asked for', async () => {
      fake.script = () => ok.discover()

      await client.discover(point, 'chat', { limit: 5 })

      expect(fake.requests[0].discover?.ns).to.equal('chat')
      expect(fake.requests[0].discover?.limit).to.equal(5n)
    })

    it('refuses a negative or fractional limit before sending anything', async () => {
      await expect(client.discover(point, 'chat', { limit: -1 })).to.eventually.be.rejectedWith(InvalidParametersError)
      await expect(client.discover(point, 'chat', { limit: 2.5 })).to.eventually.be.rejectedWith(InvalidParametersError)
      expect(fake.requests).to.be.empty()
    })

    it('returns verified registrations with their addresses, namespace, ttl and record', async () => {
      fake.script = () => ok.discover(peers.map(p => ({ ns: 'chat', signedPeerRecord: p.record, ttl: 3600n })))

      const result = await client.discover(point, 'chat')

      expect(result.dropped).to.equal(0)
      expect(result.registrations.map(r => r.peerId.toString())).to.deep.equal(peers.map(p => p.peerId.toString()))

      for (const [i, registration] of result.registrations.entries()) {
        expect(registration.namespace).to.equal('chat')
        expect(registration.ttl).to.equal(3600)
        expect(registration.multiaddrs.map(ma => ma.toString())).to.deep.equal([`/memory/fake-${peers[i].peerId.toString().slice(-8)}`])
        expect(registration.signedPeerRecord).to.equalBytes(peers[i].record)
      }
    })

    it('reads a reply without status as OK and a reply without body as empty', async () => {
      fake.script = (_, index) => index === 0
        ? { type: MessageType.DISCOVER_RESPONSE, discoverResponse: { registrations: [{ ns: 'chat', signedPeerRecord: peers[0].record }] } }
        : { type: MessageType.DISCOVER_RESPONSE }

      expect((await client.discover(point, 'chat')).registrations).to.have.lengthOf(1)
      expect((await client.discover(point, 'chat')).registrations).to.be.empty()
    })

    it('drops bad registrations one by one and keeps the good ones', async () => {
      const [good1, good2, victim] = peers
      const forged = await recordSignedByAnother(victim.peerId)
      fake.script = () => ok.discover([
        { ns: 'chat', signedPeerRecord: good1.record },
        { ns: 'chat', signedPeerRecord: new Uint8Array([1, 2, 3, 4]) },
        { ns: 'chat', signedPeerRecord: tampered(victim.record) },
        { ns: 'chat', signedPeerRecord: forged },
        { ns: 'chat' },
        { ns: 'other', signedPeerRecord: victim.record },
        // Go leaves `ns` empty when a namespace was asked for
        { ns: '', signedPeerRecord: good2.record }
      ])

      const result = await client.discover(point, 'chat')

      expect(result.dropped).to.equal(5)
      expect(result.registrations.map(r => r.peerId.toString())).to.deep.equal([good1.peerId.toString(), good2.peerId.toString()])
      expect(result.registrations[1].namespace).to.equal('chat')
    })

    it('keeps each registration\'s own namespace when all namespaces were asked for', async () => {
      fake.script = () => ok.discover([
        { ns: 'a', signedPeerRecord: peers[0].record },
        { ns: 'b', signedPeerRecord: peers[1].record }
      ])

      const result = await client.discover(point)

      expect(result.registrations.map(r => r.namespace)).to.deep.equal(['a', 'b'])
    })

    it('keeps only the newest record of a peer listed twice', async () => {
      const older = await fakePeer(1n)
      const newer = await sealAgain(older, 2n)
      fake.script = () => ok.discover([
        { ns: 'chat', signedPeerRecord: newer },
        { ns: 'chat', signedPeerRecord: older.record }
      ])

      const result = await client.discover(point, 'chat')

      expect(result.registrations).to.have.lengthOf(1)
      expect(result.registrations[0].seqNumber).to.equal(2n)
    })

    it('clamps a discovered ttl of 2^64-1 to the spec maximum and reads a missing one as the default', async () => {
      fake.script = () => ok.discover([
        { ns: 'chat', signedPeerRecord: peers[0].record, ttl: U64_MAX },
        { ns: 'chat', signedPeerRecord: peers[1].record }
      ])

      const result = await client.discover(point, 'chat')

      expect(result.registrations.map(r => r.ttl)).to.deep.equal([MAX_DISCOVERED_TTL_SECONDS, DEFAULT_TTL_SECONDS])
    })

    it('keeps a 2-byte cookie (as Nim sends) and sends it back on the next query for the same namespace only', async () => {
      const cookie = new Uint8Array([8, 1])
      fake.script = () => ok.discover([], cookie)

      const first = await client.discover(point, 'chat')
      expect(first.cookie).to.equalBytes(cookie)

      await client.discover(point, 'chat')
      await client.discover(point, 'other')
      await client.discover(point)

      expect(fake.requests[0].discover?.cookie).to.be.undefined()
      expect(fake.requests[1].discover?.cookie).to.equalBytes(cookie)
      expect(fake.requests[2].discover?.cookie).to.be.undefined()
      expect(fake.requests[3].discover?.cookie).to.be.undefined()
    })

    it('keeps the last cookie when a reply carries none or an empty one', async () => {
      const replies = [ok.discover([], new Uint8Array([1, 2, 3])), ok.discover([], undefined), ok.discover([], new Uint8Array())]
      fake.script = (_, index) => replies[index]

      await client.discover(point, 'chat')
      await client.discover(point, 'chat')
      await client.discover(point, 'chat')

      expect(fake.requests[1].discover?.cookie).to.equalBytes(new Uint8Array([1, 2, 3]))
      expect(fake.requests[2].discover?.cookie).to.equalBytes(new Uint8Array([1, 2, 3]))
    })

    it('uses the cookie passed by the caller, and starts over when passed null', async () => {
      fake.script = () => ok.discover([], new Uint8Array([9, 9, 9, 9]))

      await client.discover(point, 'chat')
      await client.discover(point, 'chat', { cookie: new Uint8Array([7, 7]) })
      await client.discover(point, 'chat', { cookie: null })

      expect(fake.requests[1].discover?.cookie).to.equalBytes(new Uint8Array([7, 7]))
      expect(fake.requests[2].discover?.cookie).to.be.undefined()
    })

    it('forgets cookies on resetCookies, for one namespace or for the whole point', async () => {
      fake.script = () => ok.discover([], new Uint8Array([5, 5]))

      await client.discover(point, 'a')
      await client.discover(point, 'b')
      client.resetCookies(point, 'a')
      await client.discover(point, 'a')
      await client.discover(point, 'b')
      client.resetCookies(point)
      await client.discover(point, 'b')

      expect(fake.requests.map(r => r.discover?.cookie != null)).to.deep.equal([false, false, false, true, false])
    })

    it('keys cookies by the point\'s peer id, whether it is named by PeerId or by multiaddr', async () => {
      fake.script = () => ok.discover([], new Uint8Array([4, 4]))
      await clientNode.peerStore.merge(server.peerId, { multiaddrs: server.getMultiaddrs() })

      await client.discover(point, 'chat')
      await client.discover(server.peerId, 'chat')

      expect(fake.requests[1].discover?.cookie).to.equalBytes(new Uint8Array([4, 4]))
    })

    it('drops a refused cookie and retries once without it', async () => {
      fake.script = (request) => request.discover?.cookie != null
        ? fail.discover(ResponseStatus.E_INVALID_COOKIE)
        : ok.discover([{ ns: 'chat', signedPeerRecord: peers[0].record }])

      const result = await client.discover(point, 'chat', { cookie: new Uint8Array([1, 2]) })

      expect(result.registrations).to.have.lengthOf(1)
      expect(fake.requests.map(r => r.discover?.cookie != null)).to.deep.equal([true, false])
    })

    it('forgets a kept cookie the point refused', async () => {
      const replies = [ok.discover([], new Uint8Array([1, 1])), fail.discover(ResponseStatus.E_INVALID_COOKIE)]
      fake.script = (_, index) => replies[index] ?? ok.discover()

      await client.discover(point, 'chat')
      await client.discover(point, 'chat')
      await client.discover(point, 'chat')

      expect(fake.requests.map(r => r.discover?.cookie != null)).to.deep.equal([false, true, false, false])
    })

    it('does not retry E_INVALID_COOKIE when it sent no cookie', async () => {
      fake.script = () => fail.discover(ResponseStatus.E_INVALID_COOKIE)

      const err = await client.discover(point, 'chat').catch(err => err)
      expect(err).to.be.an.instanceOf(RendezvousError)
      expect(err.status).to.equal(ResponseStatus.E_INVALID_COOKIE)
      expect(fake.requests).to.have.lengthOf(1)
    })

    it('reads E_INVALID_NAMESPACE for a valid namespace as empty, as Nim answers for unknown ones', async () => {
      fake.script = () => fail.discover(ResponseStatus.E_INVALID_NAMESPACE)

      const result = await client.discover(point, 'nobody-here')

      expect(result).to.deep.equal({ registrations: [], dropped: 0 })
    })

    it('reports E_INVALID_NAMESPACE for a query of all namespaces, which legacy servers do not support', async () => {
      fake.script = () => fail.discover(ResponseStatus.E_INVALID_NAMESPACE)

      await expect(client.discover(point)).to.eventually.be.rejectedWith(RendezvousError)
    })

    it('reports other refusals with their status', async () => {
      fake.script = () => fail.discover(ResponseStatus.E_UNAVAILABLE, 'busy')

      const err = await client.discover(point, 'chat').catch(err => err)
      expect(err).to.be.an.instanceOf(RendezvousError)
      expect(err.retryable).to.be.true()
      expect(err.message).to.include('busy')
    })
  })

  describe('discoverAll', () => {
    it('pages with cookies until a page is shorter than the limit', async () => {
      const pages = [[peers[0], peers[1]], [peers[2]]]
      fake.script = (request) => {
        const page = request.discover?.cookie?.[0] ?? 0
        return ok.discover((pages[page] ?? []).map(p => ({ ns: 'chat', signedPeerRecord: p.record })), new Uint8Array([page + 1]))
      }

      const found = await all(client.discoverAll(point, 'chat', { limit: 2 }))

      expect(found.map(r => r.peerId.toString())).to.deep.equal(peers.map(p => p.peerId.toString()))
      expect(fake.requests.map(r => r.discover?.cookie?.[0])).to.deep.equal([undefined, 1])
    })

    it('pages with full pages until a page is empty', async () => {
      fake.script = (request) => {
        const page = request.discover?.cookie?.[0] ?? 0
        return ok.discover(page < peers.length ? [{ ns: 'chat', signedPeerRecord: peers[page].record }] : [], new Uint8Array([page + 1]))
      }

      const found = await all(client.discoverAll(point, 'chat', { limit: 1 }))

      expect(found).to.have.lengthOf(peers.length)
      expect(fake.requests).to.have.lengthOf(peers.length + 1)
    })

    it('stops at a page shorter than the default limit it sent', async () => {
      fake.script = (request) => {
        const page = request.discover?.cookie?.[0] ?? 0
        return ok.discover(page < peers.length ? [{ ns: 'chat', signedPeerRecord: peers[page].record }] : [], new Uint8Array([page + 1]))
      }

      expect(await all(client.discoverAll(point, 'chat'))).to.have.lengthOf(1)
      expect(fake.requests.map(r => r.discover?.limit)).to.deep.equal([1000n])
    })

    it('stops when the point sends back the cookie it was sent: no progress, whatever the records', async () => {
      // new records on every full page, but the position never moves: a walk that went on would never end
      fake.script = (request) => ok.discover([{ ns: 'chat', signedPeerRecord: peers[fake.requests.length % peers.length].record }], new Uint8Array([7]))

      const found = await all(client.discoverAll(point, 'chat', { limit: 1 }))

      expect(fake.requests).to.have.lengthOf(2)
      expect(found).to.have.lengthOf(2)
    })

    it('stops when the point sends no cookie to continue from', async () => {
      fake.script = () => ok.discover([{ ns: 'chat', signedPeerRecord: peers[0].record }])

      expect(await all(client.discoverAll(point, 'chat', { limit: 1 }))).to.have.lengthOf(1)
      expect(fake.requests).to.have.lengthOf(1)
    })

    it('stops when a point repeats a full page it already sent', async () => {
      fake.script = () => ok.discover([{ ns: 'chat', signedPeerRecord: peers[0].record }], new Uint8Array([1]))

      expect(await all(client.discoverAll(point, 'chat', { limit: 1 }))).to.have.lengthOf(1)
      expect(fake.requests).to.have.lengthOf(2)
    })

    it('stops after maxDiscoverPages against a point that never runs dry', async () => {
      const node = await createNode({ rendezvous: rendezvousClient({ maxDiscoverPages: 3 }) })

      try {
        let n = 0
        const endless = await Promise.all(Array.from({ length: 4 }, async () => fakePeer()))
        fake.script = () => ok.discover([{ ns: 'chat', signedPeerRecord: endless[n++ % endless.length].record }], new Uint8Array([n]))

        expect(await all(node.services.rendezvous.discoverAll(point, 'chat', { limit: 1 }))).to.have.lengthOf(3)
        expect(fake.requests).to.have.lengthOf(3)
      } finally {
        await node.stop()
      }
    })

    it('stops with an abort error when the signal is aborted between records', async () => {
      fake.script = (request) => {
        const page = request.discover?.cookie?.[0] ?? 0
        return ok.discover([{ ns: 'chat', signedPeerRecord: peers[page % peers.length].record }], new Uint8Array([page + 1]))
      }
      const controller = new AbortController()
      const seen: string[] = []

      const walk = async (): Promise<void> => {
        for await (const registration of client.discoverAll(point, 'chat', { limit: 1, signal: controller.signal })) {
          seen.push(registration.peerId.toString())
          controller.abort()
        }
      }

      await expect(walk()).to.eventually.be.rejected()
      expect(seen).to.have.lengthOf(1)
      expect(fake.requests).to.have.lengthOf(1)
    })
  })

  describe('broken exchanges', () => {
    it('times out on a point that never answers, with a TimeoutError', async () => {
      fake.script = () => 'hang'

      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(TimeoutError)
      await expect(client.register(point, 'chat')).to.eventually.be.rejectedWith(TimeoutError)
    })

    it('stops waiting when the caller aborts', async () => {
      fake.script = () => 'hang'
      const controller = new AbortController()
      const pending = client.discover(point, 'chat', { signal: controller.signal })
      await pWaitFor(() => fake.requests.length === 1, { interval: 10, timeout: { milliseconds: 5000, message: 'the scripted point got no request within 5 s' } })
      controller.abort()

      const err = await pending.catch(err => err)
      expect(err).to.be.an.instanceOf(Error)
      expect(err).to.not.be.an.instanceOf(TimeoutError)
    })

    it('treats a stream closed without a reply as an invalid response', async () => {
      fake.script = () => 'close'

      await expect(client.register(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
    })

    it('treats a reset stream as an invalid response', async () => {
      fake.script = () => 'reset'

      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
    })

    it('refuses a reply of the wrong type, or with no type', async () => {
      fake.script = () => ok.register(7200n)
      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError, /REGISTER_RESPONSE/)

      fake.script = () => ok.discover()
      await expect(client.register(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError, /DISCOVER_RESPONSE/)

      fake.script = () => ({ registerResponse: { status: ResponseStatus.OK } })
      await expect(client.register(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
    })

    it('refuses a reply that does not decode', async () => {
      fake.script = () => ({ raw: new Uint8Array([0xff, 0xff, 0xff]) })

      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
    })

    it('refuses a reply longer than maxResponseSize without reading it', async () => {
      const node = await createNode({ rendezvous: rendezvousClient({ maxResponseSize: 100 }) })

      try {
        fake.script = () => ok.discover(peers.map(p => ({ ns: 'chat', signedPeerRecord: p.record })))
        await expect(node.services.rendezvous.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
      } finally {
        await node.stop()
      }
    })

    it('refuses a length prefix that claims more than a varint can hold', async () => {
      fake.script = () => ({ bytes: new Uint8Array(12).fill(0xff) })

      await expect(client.discover(point, 'chat')).to.eventually.be.rejectedWith(InvalidResponseError)
    })
  })

  describe('rendezvous points', () => {
    it('refuses a multiaddr without /p2p/, an empty list, or addresses of different peers', async () => {
      await expect(client.discover(multiaddr('/memory/somewhere'), 'chat')).to.eventually.be.rejectedWith(InvalidParametersError, /\/p2p\//)
      await expect(client.discover([], 'chat')).to.eventually.be.rejectedWith(NoRendezvousPointsError)
      await expect(client.discover(undefined as any, 'chat')).to.eventually.be.rejectedWith(NoRendezvousPointsError)
      await expect(client.discover([...point, multiaddr(`/memory/x/p2p/${peers[0].peerId.toString()}`)], 'chat')).to.eventually.be.rejectedWith(InvalidParametersError, /different peers/)
      expect(() => { client.resetCookies(multiaddr('/memory/somewhere')) }).to.throw(InvalidParametersError)
      expect(fake.requests).to.be.empty()
    })

    it('reaches a point named by PeerId once the peer store knows its addresses', async () => {
      fake.script = () => ok.discover()
      await clientNode.peerStore.merge(server.peerId, { multiaddrs: server.getMultiaddrs() })

      await client.discover(server.peerId, 'chat')

      expect(fake.requests).to.have.lengthOf(1)
    })
  })
})

async function sealAgain (peer: FakePeer, seqNumber: bigint): Promise<Uint8Array<ArrayBuffer>> {
  const record = await openPeerRecord(peer.record)
  return new Uint8Array(await sealPeerRecord(peer.privateKey, peer.peerId, record.multiaddrs, seqNumber))
}
