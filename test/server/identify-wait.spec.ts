/**
 * A DISCOVER whose requester is not known yet may wait for its identify (to tell a rust-libp2p reader, who must be
 * sent legacy records only). That wait must cost honest requesters nothing: it holds no request slot, and the
 * waits themselves are bounded, per peer and in all, past which a request is answered without waiting.
 *
 * The review's scenario: one new identity per second that never runs identify, 4 connections x 32 streams each
 * asking DISCOVER of every namespace, made 24 of 117 honest DISCOVERs fail with E_UNAVAILABLE when every wait held
 * a slot.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { PROTOCOL } from '../../src/constants.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { MAX_WAITING_PER_PEER } from '../../src/server/requester-formats.ts'
import { createTestNode } from '../fixtures/memory-node.ts'
import { discover, TestNodes } from './fixtures.ts'
import type { ServerNode } from './fixtures.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const { MessageType, ResponseStatus } = Message

/** A node that runs no identify, with the given key: several of them are one peer on several connections */
async function silentNode (privateKey: PrivateKey): Promise<Libp2p> {
  return createTestNode({ privateKey, addresses: { listen: [] }, identify: false })
}

/** A DISCOVER of every namespace on a stream of its own: its reply's status, or the error's name */
async function discoverAll (node: Libp2p, point: ServerNode): Promise<string> {
  try {
    const stream = await node.dialProtocol(point.getMultiaddrs(), PROTOCOL, { signal: AbortSignal.timeout(15_000) })
    const messages = pbStream(stream, { maxDataLength: 4 * 1024 * 1024 }).pb(Message)
    await messages.write({ type: MessageType.DISCOVER, discover: {} }, { signal: AbortSignal.timeout(15_000) })
    const reply = await messages.read({ signal: AbortSignal.timeout(15_000) })
    await stream.close().catch(() => {})
    return reply.discoverResponse?.status ?? 'no response'
  } catch (err: any) {
    return err.name ?? 'Error'
  }
}

/** Registrations with standard records in a few namespaces, so that a DISCOVER of them all needs the question answered */
async function fill (store: MemoryRegistrationStore, count: number): Promise<void> {
  const key = await generateKeyPair('Ed25519')
  const record = await sealPeerRecord(key, peerIdFromPrivateKey(key), [multiaddr('/ip4/127.0.0.1/tcp/4001')], 1n)
  const now = Date.now()

  for (let i = 0; i < count; i++) {
    await store.register({ peerId: `peer-${i}`, namespace: `ns-${i % 10}`, signedPeerRecord: record, format: 'standard', recordSeq: 1n, expiresAt: now + 3_600_000 }, { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 1_000_000 }, now)
  }
}

/** The largest number of requests waiting for identify at once while `work` runs */
async function peakWaiting (point: ServerNode, work: Promise<unknown>): Promise<number> {
  const requesters = (point.services.rendezvous as any).requesters
  let peak = 0
  const timer = setInterval(() => { peak = Math.max(peak, requesters.waitingRequests ?? 0) }, 10)

  try {
    await work
  } finally {
    clearInterval(timer)
  }

  return peak
}

function count (statuses: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const status of statuses) {
    counts[status] = (counts[status] ?? 0) + 1
  }
  return counts
}

describe('server: waiting for a requester\'s identify', function () {
  this.timeout(60_000)

  const nodes = new TestNodes()
  const silent: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(silent.splice(0).map(async node => node.stop()))
    await nodes.stopAll()
  })

  async function attacker (connections: number): Promise<Libp2p[]> {
    const key = await generateKeyPair('Ed25519')
    const peers = await Promise.all(Array.from({ length: connections }, async () => silentNode(key)))
    silent.push(...peers)
    return peers
  }

  it('counts no request against maxConcurrentRequests while it waits for identify', async () => {
    const store = new MemoryRegistrationStore()
    await fill(store, 20)
    const point = await nodes.server({ store, maxConcurrentRequests: 4 })
    const honest = await nodes.client()
    const [peer] = await attacker(1)

    // four requests from a peer that never runs identify: each waits, up to 2 s
    const waiting = Promise.all(Array.from({ length: 4 }, async () => discoverAll(peer, point)))
    await new Promise(resolve => setTimeout(resolve, 500))
    const requesters = (point.services.rendezvous as any).requesters
    expect(requesters.waitingRequests, 'the four requests are waiting').to.equal(4)

    expect((await discover(honest, point, {})).status).to.equal(ResponseStatus.OK)
    expect(await waiting).to.deep.equal(Array(4).fill(ResponseStatus.OK))
  })

  it('keeps honest DISCOVERs OK while a new identity a second, without identify, asks DISCOVER of every namespace on 4 connections x 32 streams', async () => {
    const store = new MemoryRegistrationStore()
    await fill(store, 300)
    const point = await nodes.server({ store })
    const honest = await nodes.client()
    const honestStatuses: string[] = []
    // the identities' nodes are made first: what comes once a second is their connections and requests
    const identities = await Promise.all(Array.from({ length: 5 }, async () => attacker(4)))
    const attackState = { running: true }

    const attack = (async () => {
      const requests: Array<Promise<string[]>> = []
      for (const connections of identities) {
        const started = Date.now()
        requests.push(Promise.all(connections.flatMap(node => Array.from({ length: 32 }, async () => discoverAll(node, point)))))
        await new Promise(resolve => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))))
      }
      const statuses = (await Promise.all(requests)).flat()
      attackState.running = false
      return statuses
    })()

    const deadline = Date.now() + 40_000
    const honestLoop = Promise.all(Array.from({ length: 4 }, async () => {
      while (attackState.running && Date.now() < deadline) {
        honestStatuses.push((await discover(honest, point, {}).catch(err => ({ status: err.name }))).status ?? 'none')
        // a failure that comes back at once must not starve the timers
        await new Promise(resolve => setImmediate(resolve))
      }
    }))

    const peak = await peakWaiting(point, Promise.all([honestLoop, attack]))
    const attacks = count(await attack)

    expect(count(honestStatuses)[ResponseStatus.E_UNAVAILABLE] ?? 0, `honest DISCOVERs refused: ${JSON.stringify(count(honestStatuses))}`).to.equal(0)
    expect(honestStatuses.every(status => status === ResponseStatus.OK), JSON.stringify(count(honestStatuses))).to.be.true()
    expect(honestStatuses.length).to.be.above(20)
    // the attack did what it should: its requests waited, within the bound per peer, and were answered
    expect(peak).to.be.above(0).and.at.most(5 * MAX_WAITING_PER_PEER)
    expect(attacks[ResponseStatus.OK], JSON.stringify(attacks)).to.be.above(0)
  })

  it(`lets at most ${MAX_WAITING_PER_PEER} requests of one peer wait for its identify, and answers the rest at once`, async () => {
    const store = new MemoryRegistrationStore()
    await fill(store, 20)
    const point = await nodes.server({ store })
    const [peer] = await attacker(1)
    const started = Date.now()
    const answeredAt: number[] = []

    const requests = Promise.all(Array.from({ length: MAX_WAITING_PER_PEER + 4 }, async () => {
      const status = await discoverAll(peer, point)
      answeredAt.push(Date.now() - started)
      return status
    }))
    const peak = await peakWaiting(point, requests)

    expect(await requests).to.deep.equal(Array(MAX_WAITING_PER_PEER + 4).fill(ResponseStatus.OK))
    expect(peak).to.equal(MAX_WAITING_PER_PEER)
    // the four past the bound did not wait for the others' identify wait (2 s) to run out
    expect(answeredAt.sort((a, b) => a - b).slice(0, 4).every(ms => ms < answeredAt[answeredAt.length - 1])).to.be.true()
  })

  it('lets at most maxConcurrentRequests requests wait for identify in all, and answers the rest at once', async () => {
    const store = new MemoryRegistrationStore()
    await fill(store, 20)
    const point = await nodes.server({ store, maxConcurrentRequests: 8 })
    const peers = [...await attacker(1), ...await attacker(1)]

    const requests = Promise.all(peers.flatMap(peer => Array.from({ length: 6 }, async () => discoverAll(peer, point))))
    const peak = await peakWaiting(point, requests)

    expect(await requests).to.deep.equal(Array(12).fill(ResponseStatus.OK))
    expect(peak).to.equal(8)
  })
})
