/**
 * Go and JS nodes in one pubsub network, meeting through one `rendezvous-server` (this package's CLI, a child
 * process) on TCP 127.0.0.1:
 * - 8 JS nodes run gossipsub and `rendezvousDiscovery()` with its defaults (topic T -> `floodsub:T`, 6 peers);
 * - 8 Go nodes (test/interop/go/cmd/pubsub-node) run go-libp2p-pubsub GossipSub whose discovery is go-libp2p-pubsub's
 * own `pubsub.WithDiscovery(...)` over waku-org/go-libp2p-rendezvous' `discovery.Discovery`, which registers and
 * discovers `floodsub:T` itself.
 * All subscribe to one topic. Every node has to reach 6 connected topic peers, with Go–JS connections among them,
 * and a message from a Go node has to reach every JS node, and the reverse. Each step is timed, and the time to
 * quota of every node is reported per implementation.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { prefixLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { createBenchNode } from '../../../benchmarks/lib/nodes.ts'
import { median } from '../../../benchmarks/lib/stats.ts'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { StepTimer } from '../../browser/harness/step-timer.ts'
import { killAll, startCli } from '../../cli/fixtures/cli-process.ts'
import { GoPubsubNode, goBinaryMissing, stopAllGoNodes } from '../../fixtures/go-pubsub-node.ts'
import type { BenchNode } from '../../../benchmarks/lib/nodes.ts'
import type { GoEvent } from '../../fixtures/go-pubsub-node.ts'

const JS_NODES = 8
const GO_NODES = 8
const QUOTA = 6
const TOPIC = 'go-js-network'
/** Bound on reaching the quota everywhere; the default discover interval is 1 s */
const QUOTA_TIMEOUT = 60_000
const MESSAGE_TIMEOUT = 15_000

interface JsNode {
  node: BenchNode
  peerId: string
  /** Date.now() once the node runs and is subscribed */
  startedAt: number
  quotaAt?: number
  messages: Array<{ from: string, text: string, at: number }>
}

/** Connected peers of a JS node that gossipsub lists as subscribed to the topic */
function jsTopicPeers (js: JsNode): string[] {
  const connected = new Set(js.node.getPeers().map(String))
  return js.node.services.pubsub.getSubscribers(TOPIC).map(String).filter(peer => connected.has(peer))
}

async function startJsNode (point: string, index: number): Promise<JsNode> {
  const node = await createBenchNode({
    transport: 'tcp',
    // `DEBUG=js3:libp2p:rendezvous:*` traces one node, `DEBUG='*:libp2p:rendezvous:*'` all of them apart
    logger: prefixLogger(`js${index}`),
    services: {
      // `relay: 'never'`: on loopback the node has no public address, so `auto` would look for relays; these
      // nodes stand for publicly reachable ones
      rendezvous: rendezvousDiscovery({ points: [point], relay: 'never' })
    }
  })
  const js: JsNode = { node, peerId: node.peerId.toString(), startedAt: 0, messages: [] }
  node.services.pubsub.addEventListener('message', (event) => {
    const message = event.detail
    if (message.topic === TOPIC && message.type === 'signed') {
      js.messages.push({ from: message.from.toString(), text: new TextDecoder().decode(message.data), at: Date.now() })
    }
  })
  await node.start()
  node.services.pubsub.subscribe(TOPIC)
  js.startedAt = Date.now()
  // the moment of the quota is taken at the event that brings it, from the node's start on: the Go nodes report
  // theirs as it happens, and a poll that began only once every node of both kinds had started timed the JS
  // nodes no earlier than the slowest Go process start (every JS node then "reached" its quota at the same ms)
  const check = (): void => {
    if (js.quotaAt == null && jsTopicPeers(js).length >= QUOTA) {
      js.quotaAt = Date.now()
    }
  }
  node.addEventListener('peer:connect', check)
  node.addEventListener('peer:identify', check)
  node.services.pubsub.addEventListener('subscription-change', check)
  check()
  return js
}

/** Polls every JS node until it has QUOTA connected topic peers, noting when each got there */
async function jsQuotas (nodes: JsNode[], timeout: number): Promise<void> {
  const allThere = (): boolean => {
    for (const js of nodes) {
      if (js.quotaAt == null && jsTopicPeers(js).length >= QUOTA) {
        js.quotaAt = Date.now()
      }
    }
    return nodes.every(js => js.quotaAt != null)
  }
  // at the timeout the nodes still short are named below
  await pWaitFor(allThere, { interval: 50, timeout: { milliseconds: timeout, fallback: () => {} } })
  const short = nodes.filter(js => js.quotaAt == null)
  if (short.length > 0) {
    throw new Error(`JS nodes below ${QUOTA} connected topic peers after ${timeout} ms: ${short.map(js => `${js.peerId}: ${jsTopicPeers(js).length}`).join(', ')}`)
  }
}

function isQuotaEvent (event: GoEvent): boolean {
  return event.event === 'topic-peers' && event.count >= QUOTA
}

/** Resolves once the Go node has received `text` on the topic from `from` */
async function goReceives (node: GoPubsubNode, text: string, from: string): Promise<GoEvent> {
  return node.waitFor(`the message "${text}"`, event => event.event === 'message' && event.data === text && event.from === from, MESSAGE_TIMEOUT)
}

/** Resolves once every one of the JS nodes has received `text` on the topic from `from` */
async function jsReceive (nodes: JsNode[], text: string, from: string): Promise<void> {
  const arrived = (js: JsNode): boolean => js.messages.some(m => m.text === text && m.from === from)
  await pWaitFor(() => nodes.every(arrived), { interval: 50, timeout: { milliseconds: MESSAGE_TIMEOUT, message: `Timed out after ${MESSAGE_TIMEOUT} ms waiting for the message "${text}" at every JS node` } })
}

/** ms from `since` until the node received `text` */
function jsArrival (js: JsNode, text: string, since: number): number {
  return (js.messages.find(m => m.text === text)?.at ?? 0) - since
}

function goArrival (node: GoPubsubNode, text: string, since: number): number {
  return (node.messages().find(event => event.data === text)?.at ?? 0) - since
}

function summary (values: number[]): { min: number | null, median: number | null, max: number | null } {
  return values.length === 0
    ? { min: null, median: null, max: null }
    : { min: Math.min(...values), median: median(values), max: Math.max(...values) }
}

describe('Go and JS nodes in one pubsub network through the rendezvous-server CLI', function () {
  this.timeout(150_000)

  let dir: string
  let timer: StepTimer
  const jsNodes: JsNode[] = []
  const goNodes: GoPubsubNode[] = []

  before(function () {
    const missing = goBinaryMissing()
    if (missing != null) {
      // eslint-disable-next-line no-console
      console.warn(`      ${missing}`)
      this.skip()
    }
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-go-js-'))
    timer = new StepTimer()
  })

  afterEach(async function () {
    timer.report(this.currentTest?.title ?? 'scenario', 'GO_JS_TIMINGS')
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      goNodes.forEach(go => { console.error(go.stderrTail(10)) })
    }
    await Promise.allSettled(jsNodes.splice(0).map(async js => js.node.stop()))
    goNodes.splice(0)
    await stopAllGoNodes()
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  it(`${JS_NODES} JS and ${GO_NODES} Go nodes each reach ${QUOTA} connected topic peers, Go–JS among them, and messages cross both ways`, async () => {
    const server = await timer.step('start the rendezvous-server CLI', async () => startCli([
      '--listen', '/ip4/127.0.0.1/tcp/0',
      '--identity', join(dir, 'point.key'),
      // 16 nodes on one IP connect at once: the default 5 per second per IP would turn most away (P7)
      '--inbound-connection-threshold', '1000'
    ]))
    const point = server.tcp.toString()

    const [js, go] = await timer.step(`start ${JS_NODES} JS and ${GO_NODES} Go nodes at once`, async () => Promise.all([
      Promise.all(Array.from({ length: JS_NODES }, async (_, i) => startJsNode(point, i))),
      Promise.all(Array.from({ length: GO_NODES }, async () => GoPubsubNode.start({ points: [point], topic: TOPIC })))
    ]))
    jsNodes.push(...js)
    goNodes.push(...go)
    const jsIds = new Set(js.map(node => node.peerId))
    const goIds = new Set(go.map(node => node.peerId))

    await timer.step(`every node reaches ${QUOTA} connected topic peers`, async () => Promise.all([
      jsQuotas(js, QUOTA_TIMEOUT),
      ...go.map(async node => node.waitFor(`${QUOTA} connected topic peers`, isQuotaEvent, QUOTA_TIMEOUT))
    ]))
    const jsQuota = js.map(node => (node.quotaAt ?? 0) - node.startedAt)
    const goQuota = go.map(node => (node.events.find(isQuotaEvent)?.at ?? 0) - node.listeningAt)

    // the connections each node has now, by the implementation at the other end
    const jsView = js.map(node => jsTopicPeers(node))
    const goView = go.map(node => node.topicPeers())
    const crossFromJs = jsView.map(peers => peers.filter(peer => goIds.has(peer)).length)
    const crossFromGo = goView.map(peers => peers.filter(peer => jsIds.has(peer)).length)
    const goJsLinks = new Set(go.flatMap((node, i) => goView[i].filter(peer => jsIds.has(peer)).map(peer => `${node.peerId}-${peer}`)))

    const fromGo = `hello from Go ${go[0].peerId}`
    const goPublishedAt = Date.now()
    await timer.step('a Go node publishes; every JS node and every other Go node receives it', async () => {
      await go[0].command({ cmd: 'publish', topic: TOPIC, data: fromGo })
      await Promise.all([
        jsReceive(js, fromGo, go[0].peerId),
        ...go.slice(1).map(async node => goReceives(node, fromGo, go[0].peerId))
      ])
    })
    const goToJs = js.map(node => jsArrival(node, fromGo, goPublishedAt))

    const fromJs = `hello from JS ${js[0].peerId}`
    const jsPublishedAt = Date.now()
    await timer.step('a JS node publishes; every Go node and every other JS node receives it', async () => {
      await js[0].node.services.pubsub.publish(TOPIC, new TextEncoder().encode(fromJs))
      await Promise.all([
        ...go.map(async node => goReceives(node, fromJs, js[0].peerId)),
        jsReceive(js.slice(1), fromJs, js[0].peerId)
      ])
    })
    const jsToGo = go.map(node => goArrival(node, fromJs, jsPublishedAt))

    const report = {
      nodes: { js: JS_NODES, go: GO_NODES },
      timeToQuotaMs: { js: summary(jsQuota), go: summary(goQuota) },
      topicPeersAtQuota: { js: summary(jsView.map(p => p.length)), go: summary(goView.map(p => p.length)) },
      crossImplementationTopicPeers: { js: summary(crossFromJs), go: summary(crossFromGo), goJsConnections: goJsLinks.size },
      messageMs: { goToEveryJs: summary(goToJs), jsToEveryGo: summary(jsToGo) },
      goProcessStartMs: summary(go.map(node => node.listeningAt - node.spawnedAt))
    }
    // eslint-disable-next-line no-console
    console.log(`\n      time to ${QUOTA} connected topic peers, from each node's start (ms)`)
    // eslint-disable-next-line no-console
    console.table({
      'JS (rendezvousDiscovery)': { median: report.timeToQuotaMs.js.median, max: report.timeToQuotaMs.js.max, 'topic peers of the other kind (min-max)': `${Math.min(...crossFromJs)}-${Math.max(...crossFromJs)}`, 'its message at every node of the other kind (max ms)': report.messageMs.jsToEveryGo.max },
      'Go (pubsub.WithDiscovery)': { median: report.timeToQuotaMs.go.median, max: report.timeToQuotaMs.go.max, 'topic peers of the other kind (min-max)': `${Math.min(...crossFromGo)}-${Math.max(...crossFromGo)}`, 'its message at every node of the other kind (max ms)': report.messageMs.goToEveryJs.max }
    })

    // a JS node finds the Go nodes (which register at once) among its first candidates, and Go nodes dial every
    // peer they find; a Go node stops discovering once its mesh reaches Dlo (4), so one that met only Go nodes first
    // may keep only Go topic peers: it still gets the JS messages through them (checked above)
    expect(crossFromJs.every(n => n >= 1), `every JS node has a Go topic peer (${crossFromJs.join(', ')})`).to.be.true()
    expect(goJsLinks.size, 'Go–JS connections among the topic peers').to.be.greaterThan(0)

    // one line that says the whole scenario ran and passed (.ci/run looks for it)
    // eslint-disable-next-line no-console
    console.log(`GO_JS_NETWORK_REPORT ${JSON.stringify(report)}`)
  })
})
