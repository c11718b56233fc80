/**
 * Load: 1,000 concurrent clients registering and discovering against one rendezvous point for a bounded time.
 *
 * A libp2p node per client would need 1,000 in-process nodes (noise keys, muxers, peer stores) on a machine of
 * two shared cores, so the 1,000 logical clients are 50 real nodes running 20 concurrent sessions each, every
 * session a client of its own: its own namespace to register in (one of 200, none shared by two sessions of one
 * node, so each (peer, namespace) is written by exactly one session), its own cookie chains, its own requests through the real client
 * (`DefaultRendezvousClient`) on the node's one connection to the point. A session registers, then in rounds
 * discovers its own namespace and a neighbour's with cookies, refreshing its registration every fifth round,
 * with a think time of about two seconds between rounds (a client that never pauses measures only the queue in
 * front of two shared cores); sessions start within the first 5 s. Server and clients share the process, so the
 * figures are those of the whole: when the cores are saturated, latency is the queue in front of them.
 * `STRESS_LOAD_NODES`, `STRESS_LOAD_SESSIONS`, `STRESS_LOAD_SECONDS`, `STRESS_LOAD_RAMP_MS`,
 * `STRESS_LOAD_NAMESPACES` and `STRESS_LOAD_THINK_MS` change the shape.
 *
 * Checked: every acknowledged registration is in the next page of its session's own cookie chain and, at the
 * end, discoverable from the start; no registration comes twice on one cookie chain; every failure is a
 * documented one, E_UNAVAILABLE, and only for requests that were in flight while more than the point's
 * `maxConcurrentRequests` were (the clients count their outstanding requests); every session got its
 * registration acknowledged. Printed: requests held per second, latency percentiles, the most requests in flight
 * at once, peak memory.
 */
import { expect } from 'aegir/chai'
import { RendezvousError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { NodeSet, yieldToEventLoop } from './fixtures/nodes.ts'
import { CrashWatch, PeakMemory, mb, percentiles, readMemory, report } from './fixtures/process.ts'
import type { ClientNode } from './fixtures/nodes.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

const { ResponseStatus } = Message

const NODES = Number(process.env.STRESS_LOAD_NODES ?? 50)
const SESSIONS = Number(process.env.STRESS_LOAD_SESSIONS ?? 20)
const SECONDS = Number(process.env.STRESS_LOAD_SECONDS ?? 20)
/** Sessions start at random within this many ms: clients arrive over time, not all in one instant */
const RAMP_MS = Number(process.env.STRESS_LOAD_RAMP_MS ?? 5000)
/**
 * Namespaces shared by all sessions, about five peers in each: a client verifies every record it is sent (a
 * signature check each), so a few large namespaces would load the clients' side of this one process, not the point
 */
const NAMESPACES = Number(process.env.STRESS_LOAD_NAMESPACES ?? 200)
/** Mean pause of a session between rounds, in ms */
const THINK_MS = Number(process.env.STRESS_LOAD_THINK_MS ?? 2000)

interface Tally {
  latencies: number[]
  ok: number
  unavailable: number
  errors: string[]
  violations: string[]
  /** (peer, namespace) pairs whose registration the point acknowledged */
  acknowledged: Set<string>
  /** Requests sent and not yet answered, all sessions together */
  inFlight: Set<object>
  /** The most of them at once */
  maxInFlight: number
  /** The point's `maxConcurrentRequests` */
  limit: number
  /** Requests that were in flight at a moment when more than `limit` were: the only ones the point may refuse as busy */
  overLimit: WeakSet<object>
  overLimitCount: number
}

/** One logical client: register in its own namespace, then read its own chain and another namespace's */
async function session (node: ClientNode, point: Multiaddr, index: number, deadline: number, tally: Tally): Promise<void> {
  const client = node.services.rendezvous
  const self = node.peerId.toString()
  // consecutive indices for one node's sessions: no two of them share a namespace
  const own = `load/${index % NAMESPACES}`
  /** A cookie chain per namespace, and what each chain has returned */
  const chains = new Map<string, { cookie: Uint8Array | null, seen: Set<string> }>()

  const timed = async <T> (request: () => Promise<T>): Promise<T | undefined> => {
    const started = performance.now()
    const token = {}
    tally.inFlight.add(token)
    tally.maxInFlight = Math.max(tally.maxInFlight, tally.inFlight.size)

    if (tally.inFlight.size > tally.limit) {
      for (const other of tally.inFlight) {
        if (!tally.overLimit.has(other)) {
          tally.overLimit.add(other)
          tally.overLimitCount++
        }
      }
    }

    try {
      const result = await request()
      tally.latencies.push(performance.now() - started)
      tally.ok++
      return result
    } catch (err: any) {
      tally.latencies.push(performance.now() - started)

      if (err instanceof RendezvousError && err.status === ResponseStatus.E_UNAVAILABLE) {
        tally.unavailable++
        // what a client does with a busy point: back off a little
        await new Promise(resolve => setTimeout(resolve, 50 + Math.random() * 200))
      } else {
        tally.errors.push(`${err.name}: ${err.message}`)
      }

      return undefined
    } finally {
      tally.inFlight.delete(token)
    }
  }

  const discover = async (ns: string): Promise<Set<string> | undefined> => {
    const chain = chains.get(ns) ?? { cookie: null, seen: new Set<string>() }
    chains.set(ns, chain)
    const result = await timed(async () => client.discover(point, ns, { cookie: chain.cookie, limit: 1000 }))

    if (result == null) {
      return undefined
    }

    const peers = new Set<string>()

    for (const registration of result.registrations) {
      // one write of the store: the peer's record of that sequence number
      const key = `${registration.peerId.toString()}@${registration.seqNumber}`

      if (chain.seen.has(key)) {
        tally.violations.push(`${key} came twice on one cookie chain of "${ns}"`)
      }

      chain.seen.add(key)
      peers.add(registration.peerId.toString())
    }

    chain.cookie = result.cookie ?? chain.cookie
    return peers
  }

  const other = `load/${(index + 1) % NAMESPACES}`
  let registered = false

  await new Promise(resolve => setTimeout(resolve, Math.random() * RAMP_MS))

  // every session makes its first round, however late its ramp let it start (on a loaded machine, after the
  // deadline): each must get its registration acknowledged
  for (let round = 0; round === 0 || performance.now() < deadline; round++) {
    await yieldToEventLoop()

    // register until acknowledged, then refresh every fifth round: a stream of writes for the chains to see
    if (!registered || round % 5 === 0) {
      const ttl = await timed(async () => client.register(point, own))

      if (ttl != null) {
        registered = true
        tally.acknowledged.add(`${self}\u0000${own}`)
        const found = await discover(own)

        // the chain's cookie is older than the write just acknowledged: the next page has it
        if (found != null && !found.has(self)) {
          tally.violations.push(`an acknowledged registration of ${self} in "${own}" was not in the next page of its chain`)
        }
      }
    }

    await discover(own)
    await discover(other)
    // think time: a client does something else between its queries
    await new Promise(resolve => setTimeout(resolve, THINK_MS / 2 + Math.random() * THINK_MS))
  }
}

describe('stress: load', function () {
  this.timeout(SECONDS * 1000 + 240_000)
  const nodes = new NodeSet()
  const crashes = new CrashWatch()

  before(() => { crashes.start() })
  after(() => { crashes.stop() })
  afterEach(async () => { await nodes.stopAll() })

  it(`holds ${NODES * SESSIONS} concurrent clients (${NODES} nodes x ${SESSIONS} sessions) registering and discovering for ${SECONDS} s`, async () => {
    const server = await nodes.server()
    const point = server.getMultiaddrs()[0]
    // a request can wait behind a thousand others on two shared cores: give it time rather than count it lost
    const clients = await nodes.clients(NODES, { timeout: 60_000 })
    const observer = await nodes.client({ timeout: 60_000 })
    const limit = server.services.rendezvous.config.maxConcurrentRequests
    const tally: Tally = { latencies: [], ok: 0, unavailable: 0, errors: [], violations: [], acknowledged: new Set(), inFlight: new Set(), maxInFlight: 0, limit, overLimit: new WeakSet(), overLimitCount: 0 }

    const before = readMemory()
    const peak = new PeakMemory().start()
    const started = performance.now()
    const deadline = started + SECONDS * 1000

    await Promise.all(clients.flatMap((node, n) => Array.from({ length: SESSIONS }, async (_, i) => session(node, point, n * SESSIONS + i, deadline, tally))))

    const seconds = (performance.now() - started) / 1000
    peak.stop()

    report('load concurrency', `at most ${tally.maxInFlight} requests in flight at once (the point's maxConcurrentRequests: ${limit}); ${tally.overLimitCount} were in flight while more than ${limit} were`)
    // the point refuses a request as busy (E_UNAVAILABLE) only while more than maxConcurrentRequests are being
    // handled, and it handles no request the clients are not waiting for: so only a request that was in flight
    // while the clients had more than that many outstanding may be refused. Each session sends one request at a
    // time, so NODES x SESSIONS bounds the load; at 2 s of think time and ms-long requests it stays far below.
    expect(tally.unavailable, `E_UNAVAILABLE answers, with at most ${tally.maxInFlight} requests in flight against maxConcurrentRequests ${limit}`).to.be.at.most(tally.overLimitCount)

    // at the end, from the start: every acknowledged registration is there
    const missing: string[] = []

    for (let i = 0; i < NAMESPACES; i++) {
      const ns = `load/${i}`
      const present = new Set<string>()

      for await (const registration of observer.services.rendezvous.discoverAll(point, ns, { cookie: null, limit: 100 })) {
        present.add(registration.peerId.toString())
      }

      for (const node of clients) {
        if (tally.acknowledged.has(`${node.peerId.toString()}\u0000${ns}`) && !present.has(node.peerId.toString())) {
          missing.push(`${node.peerId.toString()} in ${ns}`)
        }
      }
    }

    const after = readMemory()
    const requests = tally.ok + tally.unavailable + tally.errors.length
    const latency = percentiles(tally.latencies)
    const stats = await server.services.rendezvous.store.stats(Date.now())

    report('load clients', `${NODES * SESSIONS} concurrent (${NODES} nodes x ${SESSIONS} sessions) for ${seconds.toFixed(1)} s`)
    report('load held', `${requests} requests, ${(requests / seconds).toFixed(0)} requests/s: OK ${tally.ok}, E_UNAVAILABLE ${tally.unavailable}, other errors ${tally.errors.length}`)
    report('load latency', `p50 ${latency.p50.toFixed(0)} ms, p95 ${latency.p95.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms`)
    report('load registrations', `${tally.acknowledged.size} (peer, namespace) pairs acknowledged, ${stats.registrations} in the store, ${missing.length} missing`)
    report('load memory', `heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, peak rss ${mb(peak.rss)}, peak heap ${mb(peak.heapUsed)}`)

    expect(tally.errors, `undocumented failures, e.g.:\n${[...new Set(tally.errors)].slice(0, 5).join('\n')}`).to.be.empty()
    expect(tally.violations, tally.violations.slice(0, 5).join('\n')).to.be.empty()
    expect(missing, missing.slice(0, 5).join('\n')).to.be.empty()
    // every session got its registration acknowledged: each (peer, namespace) pair a session registers, all in the store
    const pairs = clients.reduce((sum, _, n) => sum + new Set(Array.from({ length: SESSIONS }, (_, i) => (n * SESSIONS + i) % NAMESPACES)).size, 0)
    expect(tally.acknowledged.size, '(peer, namespace) pairs acknowledged').to.equal(pairs)
    expect(stats.registrations).to.equal(tally.acknowledged.size)
    expect(crashes.errors, crashes.describe()).to.be.empty()
  })
})
