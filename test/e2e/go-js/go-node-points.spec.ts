/**
 * A Go node in a network of points (issue 23 item 5). Three `rendezvous-server` processes on TCP 127.0.0.1 know
 * each other through a chain of `--peer-point`s (B knows A, C knows B) and admit each other's ids. A Go node
 * (test/interop/go/cmd/pubsub-node: go-libp2p-pubsub's own `pubsub.WithDiscovery` over the rendezvous client of
 * waku-org/go-libp2p-rendezvous) is given point A only, as a Go user configures one: it registers and discovers
 * `floodsub:<topic>` there and nowhere else. Our node (gossipsub and `rendezvousDiscovery()` with its defaults)
 * is given point B only.
 *
 * The Go node knows nothing of other points, so the two meet only if our node registers and discovers at A: it
 * learns A from B's `/libp2p/rendezvous` listing and places the namespace there (with 3 points and k = 3, on
 * every point). A node that uses only its configured point never asks A, and the two never meet.
 *
 * With 5 points, a namespace's k = 3 points by weight may leave the Go node's point out. Then our nodes given that
 * point find it (and are found) by the rule `configuredFallback`: a node also registers at its configured point,
 * and queries there while its quota is unmet. The second case picks a topic whose top 3 leave A out, lets our
 * node (given A) settle its placement on the 5 points, and only then starts the Go node at A.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { createBenchNode } from '../../../benchmarks/lib/nodes.ts'
import { loadOrCreateIdentity } from '../../../src/cli/identity.ts'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { rankPoints } from '../../../src/discovery/points/hrw.ts'
import { killAll, startCli } from '../../cli/fixtures/cli-process.ts'
import { GoPubsubNode, goBinaryMissing, stopAllGoNodes } from '../../fixtures/go-pubsub-node.ts'
import { freePort } from '../../stress/fixtures/process.ts'
import type { BenchNode } from '../../../benchmarks/lib/nodes.ts'
import type { CliProcess } from '../../cli/fixtures/cli-process.ts'

const TOPIC = 'go-node-points'
const NAMESPACE = `floodsub:${TOPIC}`
/** Bound on the two meeting: learning a point and a first DISCOVER there take seconds */
const MEET_TIMEOUT_MS = 30_000

/** Connected peers of our node that gossipsub lists as subscribed to `topic` */
function topicPeers (node: BenchNode, topic: string): string[] {
  const connected = new Set(node.getPeers().map(String))
  return node.services.pubsub.getSubscribers(topic).map(String).filter(peer => connected.has(peer))
}

describe('a Go node given one point of a network of three, and our node given another', function () {
  this.timeout(90_000)

  let dir: string
  let js: BenchNode | undefined
  const points: CliProcess[] = []
  const report: Record<string, unknown> = {}

  before(function () {
    const missing = goBinaryMissing()
    if (missing != null) {
      // eslint-disable-next-line no-console
      console.warn(`      ${missing}`)
      this.skip()
    }
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-go-points-'))
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      console.error(`our node's points and registrations: ${JSON.stringify((js?.services as any)?.rendezvous?.status.scheduler.registrations)?.slice(0, 3000)}`)
    }
    await js?.stop()
    js = undefined
    await stopAllGoNodes()
    points.splice(0)
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  /** `count` points chained (each knows the one before) and admitting each other: their addresses and ids */
  async function startPoints (count: number): Promise<{ addresses: string[], ids: string[] }> {
    const keys = Array.from({ length: count }, (_, i) => join(dir, `point-${i}.key`))
    const ids = await Promise.all(keys.map(async key => peerIdFromPrivateKey((await loadOrCreateIdentity(key)).privateKey).toString()))
    const ports = await Promise.all(keys.map(async () => freePort()))
    const listen = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i]}`
    const addresses = ids.map((id, i) => `${listen(i)}/p2p/${id}`)
    points.push(...await Promise.all(keys.map(async (key, i) => startCli([
      '--listen', listen(i),
      '--identity', key,
      ...ids.filter((_, j) => j !== i).flatMap(id => ['--admit-point', id]),
      ...(i === 0 ? [] : ['--peer-point', addresses[i - 1]])
    ]))))
    return { addresses, ids }
  }

  async function startJsNode (point: string, topic: string): Promise<BenchNode> {
    const node = await createBenchNode({
      transport: 'tcp',
      // `relay: 'never'`: on loopback the node has no public address, and these nodes stand for reachable ones
      services: { rendezvous: rendezvousDiscovery({ points: [point], relay: 'never' }) }
    })
    js = node
    await node.start()
    node.services.pubsub.subscribe(topic)
    return node
  }

  /** Until each lists the other as a connected topic peer; the ms it took */
  async function meet (node: BenchNode, go: GoPubsubNode, topic: string, what: string): Promise<number> {
    const from = Date.now()
    const jsId = node.peerId.toString()
    await pWaitFor(() => topicPeers(node, topic).includes(go.peerId) && go.topicPeers().includes(jsId), {
      interval: 100,
      timeout: { milliseconds: MEET_TIMEOUT_MS, message: `${what} did not meet within ${MEET_TIMEOUT_MS} ms: our topic peers [${topicPeers(node, topic).join(', ')}], the Go node's [${go.topicPeers().join(', ')}]` }
    })
    return Date.now() - from
  }

  it('our node, given point B, finds the Go node registered at point A, and the Go node finds ours at A', async () => {
    // a chain: A knows none, B knows A, C knows B; each admits the other two
    const { addresses } = await startPoints(3)
    const started = Date.now()
    const go = await GoPubsubNode.start({ points: [addresses[0]], topic: TOPIC })
    const node = await startJsNode(addresses[1], TOPIC)
    const jsId = node.peerId.toString()

    await meet(node, go, TOPIC, 'the Go node (point A only) and our node (point B only)')
    // from the Go node's start
    const metMs = Date.now() - started

    // our node is registered where the Go node looks: the Go client's own DISCOVER at A lists it
    const found = await go.command({ cmd: 'discover', point: 0, ns: NAMESPACE })
    expect(found.registrations.map((r: { peer: string }) => r.peer), `registrations under ${NAMESPACE} at point A`).to.include(jsId)

    // and a message crosses each way, once gossipsub put each in the other's mesh (a message published before
    // goes nowhere: neither has the other in its mesh or fanout yet)
    await go.waitFor('our node in the Go node\'s mesh', event => event.event === 'topic-peers' && (event.mesh ?? []).includes(jsId), 15_000)
    const texts: string[] = []
    node.services.pubsub.addEventListener('message', (event) => { texts.push(new TextDecoder().decode(event.detail.data)) })
    const fromGo = `from Go ${Date.now()}`
    await go.command({ cmd: 'publish', topic: TOPIC, data: fromGo })
    await pWaitFor(() => texts.includes(fromGo), { interval: 50, timeout: { milliseconds: 15_000, message: `our node did not receive "${fromGo}" within 15 s` } })
    const fromJs = `from JS ${Date.now()}`
    await node.services.pubsub.publish(TOPIC, new TextEncoder().encode(fromJs))
    await go.waitFor(`the message "${fromJs}"`, event => event.event === 'message' && event.data === fromJs, 15_000)

    report.threePoints = { goPoint: 'A', ourPoint: 'B', metMs, goalMs: MEET_TIMEOUT_MS }
  })

  it('with 5 points, our node given the Go node\'s point finds it and is found there, though the namespace is placed on 3 others', async () => {
    const { addresses, ids } = await startPoints(5)
    // a topic whose 3 points by weight leave point A (the Go node's) out
    const known = ids.map(id => ({ id }))
    const topic = Array.from({ length: 64 }, (_, i) => `${TOPIC}-${i}`)
      .find(t => !rankPoints(`floodsub:${t}`, known).slice(0, 3).some(p => p.id === ids[0]))!
    const ns = `floodsub:${topic}`
    const node = await startJsNode(addresses[0], topic)
    const jsId = node.peerId.toString()
    const rendezvous = (node.services as any).rendezvous
    const placedIds = rankPoints(ns, known).slice(0, 3).map(p => p.id)

    // our node learns the 5 points and registers at the 3 by weight, and at A, its configured point
    const registeredAt = (): string[] => rendezvous.status.scheduler.registrations.filter((r: any) => r.ns === ns && r.registered === true).map((r: any) => r.point)
    await pWaitFor(() => placedIds.every(id => registeredAt().includes(id)), {
      interval: 100,
      timeout: { milliseconds: MEET_TIMEOUT_MS, message: `our node did not register ${ns} at its 3 points by weight within ${MEET_TIMEOUT_MS} ms: at [${registeredAt().join(', ')}], want [${placedIds.join(', ')}]` }
    })
    expect(registeredAt(), `points our node registered ${ns} at, its configured point A ${ids[0]} among them`).to.have.members([...placedIds, ids[0]])

    // only now the Go node, at A: it finds our node's registration there, and our node, short of its quota, asks A
    const go = await GoPubsubNode.start({ points: [addresses[0]], topic })
    const metMs = await meet(node, go, topic, 'the Go node and our node, both given point A')
    const found = await go.command({ cmd: 'discover', point: 0, ns })
    expect(found.registrations.map((r: { peer: string }) => r.peer), `registrations under ${ns} at point A`).to.include(jsId)
    report.fivePoints = { topic, goPoint: 'A', ourPoint: 'A', placedOn: placedIds.map(id => ids.indexOf(id)), metMs, goalMs: MEET_TIMEOUT_MS }
  })

  after(() => {
    // one line that says both cases ran and passed (.ci/run looks for it)
    if (report.threePoints != null && report.fivePoints != null) {
      // eslint-disable-next-line no-console
      console.log(`GO_POINTS_REPORT ${JSON.stringify(report)}`)
    }
  })
})
