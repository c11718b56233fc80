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
import { killAll, startCli } from '../../cli/fixtures/cli-process.ts'
import { GoPubsubNode, goBinaryMissing, stopAllGoNodes } from '../../fixtures/go-pubsub-node.ts'
import { freePort } from '../../stress/fixtures/process.ts'
import type { BenchNode } from '../../../benchmarks/lib/nodes.ts'
import type { CliProcess } from '../../cli/fixtures/cli-process.ts'

const TOPIC = 'go-node-points'
const NAMESPACE = `floodsub:${TOPIC}`
/** Bound on the two meeting: learning a point and a first DISCOVER there take seconds */
const MEET_TIMEOUT_MS = 30_000

/** Connected peers of our node that gossipsub lists as subscribed to the topic */
function topicPeers (node: BenchNode): string[] {
  const connected = new Set(node.getPeers().map(String))
  return node.services.pubsub.getSubscribers(TOPIC).map(String).filter(peer => connected.has(peer))
}

describe('a Go node given one point of a network of three, and our node given another', function () {
  this.timeout(90_000)

  let dir: string
  let js: BenchNode | undefined
  const points: CliProcess[] = []

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

  it('our node, given point B, finds the Go node registered at point A, and the Go node finds ours at A', async () => {
    const labels = ['a', 'b', 'c']
    const keys = labels.map(label => join(dir, `${label}.key`))
    const ids = await Promise.all(keys.map(async key => peerIdFromPrivateKey((await loadOrCreateIdentity(key)).privateKey).toString()))
    const ports = await Promise.all(labels.map(async () => freePort()))
    const listen = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i]}`
    const address = (i: number): string => `${listen(i)}/p2p/${ids[i]}`
    // a chain: A knows none, B knows A, C knows B; each admits the other two
    points.push(...await Promise.all(labels.map(async (_, i) => startCli([
      '--listen', listen(i),
      '--identity', keys[i],
      ...ids.filter((_, j) => j !== i).flatMap(id => ['--admit-point', id]),
      ...(i === 0 ? [] : ['--peer-point', address(i - 1)])
    ]))))

    const started = Date.now()
    const go = await GoPubsubNode.start({ points: [address(0)], topic: TOPIC })
    js = await createBenchNode({
      transport: 'tcp',
      // `relay: 'never'`: on loopback the node has no public address, and these nodes stand for reachable ones
      services: { rendezvous: rendezvousDiscovery({ points: [address(1)], relay: 'never' }) }
    })
    await js.start()
    js.services.pubsub.subscribe(TOPIC)
    const node = js
    const jsId = node.peerId.toString()

    // each lists the other as a connected topic peer
    await pWaitFor(() => topicPeers(node).includes(go.peerId) && go.topicPeers().includes(jsId), {
      interval: 100,
      timeout: { milliseconds: MEET_TIMEOUT_MS, message: `the Go node (point A only) and our node (point B only) did not meet within ${MEET_TIMEOUT_MS} ms: our topic peers [${topicPeers(node).join(', ')}], the Go node's [${go.topicPeers().join(', ')}]` }
    })
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

    // eslint-disable-next-line no-console
    console.log(`GO_POINTS_REPORT ${JSON.stringify({ points: 3, goPoint: 'A', ourPoint: 'B', metMs, goal: MEET_TIMEOUT_MS })}`)
  })
})
