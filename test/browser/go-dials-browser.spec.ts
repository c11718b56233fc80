/**
 * A Go node dials a browser node through a relay, both meeting through rendezvous, with nothing but deployable
 * parts on the server side: two `rendezvous-server --relay` processes (this package's CLI; each is a rendezvous
 * point with its own memory store and a circuit relay v2 server that registers itself under `/libp2p/relay`),
 * listening on WebSockets for the browser and TCP for Go, on 127.0.0.1.
 *
 * - The page (Debian's Chromium) runs the discovery plugin with both points, its dapp and one topic, wanting one
 * relay: it finds a relay through rendezvous, holds a reservation and registers its `/p2p-circuit` addresses.
 * - The Go node (test/interop/go/cmd/pubsub-node: go-libp2p on TCP with the circuit relay v2 client, GossipSub)
 * finds the browser with the Go rendezvous client under `floodsub:<topic>`, dials its circuit address through the
 * relay's TCP address, and they exchange a ping and a gossipsub message both ways.
 * - The relay the browser uses is killed. The browser moves to the other relay and re-registers there; the Go node
 * finds the new address through the surviving point, dials it, and they exchange a ping and messages again.
 *
 * Each step is timed; the timings are printed as a table and a JSON line (`BROWSER_E2E_TIMINGS`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { topicNamespace } from '../../src/discovery/index.ts'
import { killAll, startCli } from '../cli/fixtures/cli-process.ts'
import { GoPubsubNode, goBinaryMissing, stopAllGoNodes } from '../fixtures/go-pubsub-node.ts'
import { chromiumMissing, sharedChromium, skipWhenMissing } from './harness/chromium.ts'
import { servePage } from './harness/page-server.ts'
import { pollUntil } from './harness/poll.ts'
import { StepTimer } from './harness/step-timer.ts'
import { TestPage } from './harness/test-page.ts'
import type { PageState } from './fixtures/page-api.ts'
import type { PageServer } from './harness/page-server.ts'
import type { CliProcess } from '../cli/fixtures/cli-process.ts'
import type { Browser } from 'playwright-core'

const DAPP = 'go-meets-browser'
const TOPIC = 'go-meets-browser-room'

/** Set BROWSER_DEBUG=libp2p:rendezvous* (a `debug` pattern) to get the page's libp2p logs on failure */
const DEBUG = process.env.BROWSER_DEBUG

/** One `rendezvous-server --relay` process */
interface RelayPoint {
  cli: CliProcess
  peerId: string
  /** Its WebSockets address, which the page dials */
  ws: string
  /** Its TCP address, which the Go node dials */
  tcp: string
}

async function startRelayPoint (dir: string, name: string): Promise<RelayPoint> {
  const cli = await startCli([
    '--listen', '/ip4/127.0.0.1/tcp/0',
    '--listen', '/ip4/127.0.0.1/tcp/0/ws',
    '--identity', join(dir, `${name}.key`),
    '--relay',
    // go-libp2p-pubsub opens no stream on a limited connection: the relay must not limit them
    '--relay-unlimited'
  ])
  const ws = cli.listening.multiaddrs.find(ma => ma.includes('/ws/'))
  if (ws == null) {
    throw new Error(`rendezvous-server ${name} has no WebSockets address: ${cli.listening.multiaddrs.join(', ')}`)
  }
  return { cli, peerId: cli.listening.peerId, ws, tcp: cli.tcp.toString() }
}

/** The page's relay: the one its circuit addresses go through, once it has exactly one */
function relayOf (state: PageState): string | undefined {
  return state.relays.length === 1 ? state.relays[0] : undefined
}

/** The circuit addresses of the browser through `relay`'s TCP address, from the Go node's DISCOVER of the topic */
async function discoverCircuitAddrs (go: GoPubsubNode, point: number, browserId: string, relay: RelayPoint): Promise<string[]> {
  return pollUntil(`the browser's circuit address through relay ${relay.peerId} at point ${point}, found by the Go node`, async () => {
    const reply = await go.command({ cmd: 'discover', point, ns: topicNamespace(TOPIC) })
    const browser = (reply.registrations as Array<{ peer: string, addrs: string[] }>).find(r => r.peer === browserId)
    const viaTcp = browser?.addrs.filter(addr => addr.includes(`/p2p/${relay.peerId}/p2p-circuit`) && !addr.includes('/ws'))
    return viaTcp != null && viaTcp.length > 0 ? viaTcp : undefined
  }, { timeout: 20_000, interval: 200, describe: () => 'not registered with such an address yet' })
}

function messageFrom (state: PageState, text: string, from: string): boolean {
  return state.messages.some(m => m.topic === TOPIC && m.text === text && m.from === from)
}

describe('a Go node dials a browser node through a relay found via rendezvous (Chromium, rendezvous-server --relay)', function () {
  // each step bounds its own waits well below this
  this.timeout(90_000)

  let browser: Browser | undefined
  let server: PageServer | undefined
  let dir: string
  let timer: StepTimer
  const pages: TestPage[] = []
  const goNodes: GoPubsubNode[] = []

  before(async function () {
    this.timeout(60_000)
    skipWhenMissing(this, chromiumMissing() ?? goBinaryMissing())
    server = await servePage('Go dials the browser', 'test/browser/fixtures/discovery-page.ts')
    browser = await sharedChromium()
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-go-browser-'))
    timer = new StepTimer()
  })

  afterEach(async function () {
    timer.report(this.currentTest?.title ?? 'scenario')
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      pages.forEach(page => { console.error(page.tail(80)) })
      // eslint-disable-next-line no-console
      goNodes.forEach(go => { console.error(go.stderrTail(200)) })
    }
    await Promise.all(pages.splice(0).map(async page => page.close()))
    goNodes.splice(0)
    await stopAllGoNodes()
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  after(async () => {
    await server?.close()
  })

  it('dials the browser through its relay (TCP), pings it and exchanges gossipsub messages both ways, and reaches it again after it moves to another relay', async () => {
    if (browser == null || server == null) {
      throw new Error('the suite did not set up')
    }
    const points = await timer.step('start two rendezvous-server --relay processes', async () => Promise.all([
      startRelayPoint(dir, 'a'),
      startRelayPoint(dir, 'b')
    ]))

    const page = await timer.step('open the page', async () => TestPage.open(browser as Browser, (server as PageServer).url, 'A'))
    pages.push(page)
    const browserId = await timer.step('start the browser node (both points, one relay wanted)', async () => page.start({
      points: points.map(point => point.ws),
      dapp: DAPP,
      topics: [TOPIC],
      debug: DEBUG,
      discovery: { quotas: { relay: 1 } }
    }))

    const firstRelayId = await timer.step('the browser finds a relay through rendezvous and holds a reservation', async () =>
      page.waitForState('a reservation on one of the relays', relayOf, 20_000))
    const first = points.find(point => point.peerId === firstRelayId)
    const second = points.find(point => point.peerId !== firstRelayId)
    if (first == null || second == null) {
      throw new Error(`the page holds a reservation on ${firstRelayId}, which is neither rendezvous-server`)
    }
    const firstIndex = points.indexOf(first)
    const secondIndex = points.indexOf(second)

    const go = await timer.step('start the Go node (TCP, both points, subscribed to the topic)', async () =>
      GoPubsubNode.start({ points: points.map(point => point.tcp), topic: TOPIC, discovery: 'none' }))
    goNodes.push(go)

    const circuit = await timer.step('the Go node discovers the browser\'s circuit address under floodsub:<topic>', async () =>
      discoverCircuitAddrs(go, firstIndex, browserId, first))

    const dialed = await timer.step('the Go node dials the browser through the relay', async () =>
      go.command({ cmd: 'connect', peer: browserId, addrs: circuit }))
    // an unlimited relayed connection: go-libp2p-pubsub would ignore a limited one
    expect(dialed.limited, 'the relayed connection is unlimited').to.be.false()
    expect(dialed.remoteAddr).to.include(`/p2p/${first.peerId}/p2p-circuit`).and.not.include('/ws')

    await seeEachOther(go, page, browserId, 'first relay')

    const rtts = await timer.step('ping both ways over the relayed connection', async () => Promise.all([
      go.command({ cmd: 'ping', peer: browserId }),
      page.ping(go.peerId)
    ]))
    expect(rtts[0].rttMs).to.be.a('number')
    expect(rtts[1]).to.be.a('number')

    await exchangeMessages(go, page, browserId, 'first relay')

    // what the Go node prints from here on is about the connection through the second relay
    const beforeMove = go.events.length
    await timer.step('the browser\'s relay goes away (SIGKILL)', async () => first.cli.stop('SIGKILL'))

    const secondCircuit = await timer.step('the browser holds a reservation on the second relay', async () =>
      page.waitForState('a reservation on the second relay', state => relayOf(state) === second.peerId ? state.circuitAddrs : undefined, 25_000))
    expect(secondCircuit.some(addr => addr.includes(`/p2p/${second.peerId}/p2p-circuit`))).to.be.true()

    const newCircuit = await timer.step('the Go node discovers the new circuit address at the surviving point', async () =>
      discoverCircuitAddrs(go, secondIndex, browserId, second))

    const redialed = await timer.step('the Go node dials the browser through the second relay', async () =>
      go.command({ cmd: 'connect', peer: browserId, addrs: newCircuit }))
    expect(redialed.limited).to.be.false()
    expect(redialed.remoteAddr).to.include(`/p2p/${second.peerId}/p2p-circuit`)

    await seeEachOther(go, page, browserId, 'second relay', beforeMove)

    await timer.step('ping both ways through the second relay', async () => Promise.all([
      go.command({ cmd: 'ping', peer: browserId }),
      page.ping(go.peerId)
    ]))

    await exchangeMessages(go, page, browserId, 'second relay')

    // one line that says the whole scenario ran and passed (.ci/run looks for it)
    // eslint-disable-next-line no-console
    console.log(`GO_BROWSER_REPORT ${JSON.stringify({ steps: timer.steps.map(s => ({ step: s.step, ms: s.ms })) })}`)
  })

  /**
   * Waits until the Go node has grafted the browser onto its topic mesh and the browser lists the Go node as
   * subscribed. go-libp2p-pubsub publishes to mesh peers only (no flood publishing by default), so a message it
   * publishes before the graft (at its next heartbeat, within 1 s) does not reach the browser.
   */
  async function seeEachOther (go: GoPubsubNode, page: TestPage, browserId: string, through: string, since = 0): Promise<void> {
    await timer.step(`the Go node grafts the browser onto its mesh, the browser sees it subscribed (${through})`, async () => Promise.all([
      go.waitFor('the browser in its mesh', event => event.event === 'topic-peers' && event.mesh.includes(browserId) === true, 15_000, since),
      page.waitForState('the Go node among the topic subscribers', state => state.subscribers[TOPIC]?.includes(go.peerId) === true)
    ]))
  }

  /** A gossipsub message from the Go node to the browser, then one back, each a timed step */
  async function exchangeMessages (go: GoPubsubNode, page: TestPage, browserId: string, through: string): Promise<void> {
    const toBrowser = `hello browser from Go (${through})`
    await timer.step(`gossipsub message Go -> browser (${through})`, async () => {
      await go.command({ cmd: 'publish', topic: TOPIC, data: toBrowser })
      await page.waitForState('the message from the Go node', state => messageFrom(state, toBrowser, go.peerId))
    })

    const toGo = `hello Go from the browser (${through})`
    await timer.step(`gossipsub message browser -> Go (${through})`, async () => {
      expect(await page.publish(TOPIC, toGo)).to.be.greaterThan(0)
      await go.waitFor('the message from the browser', event => event.event === 'message' && event.data === toGo && event.from === browserId, 10_000)
    })
  }
})
