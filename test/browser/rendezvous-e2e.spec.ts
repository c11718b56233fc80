/**
 * Browser nodes end to end, in Debian's Chromium: a page starts a libp2p node that knows only the rendezvous
 * point and its dapp id, and the discovery plugin (src/discovery, bundled unchanged for the browser) has to
 * find a relay through rendezvous (`/libp2p/relay`), hold a reservation, and register its `/p2p-circuit`
 * address under its dapp namespace and its topic's namespace; be found there by a Node.js peer, which dials it
 * through the relay and exchanges a gossipsub message and a ping with it (relayed connections are limited: both
 * sides opt in with `runOnLimitedConnection`); meet a second page of the same dapp through the relay and share a
 * gossipsub topic with it; and move to the second relay when its relay goes away, advertising the new address.
 *
 * Node side: a rendezvous point (which is NOT a relay, so that the page must really discover one) and two
 * circuit relays that register themselves under `/libp2p/relay` with the same discovery plugin, all over
 * WebSockets on 127.0.0.1. Each step is timed; the timings are printed as a table and a JSON line.
 */

import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../src/client/index.ts'
import { dappNamespace, rendezvousDiscovery, topicNamespace, RELAY_NAMESPACE } from '../../src/discovery/index.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { pingOverConnection } from './fixtures/ping-connection.ts'
import { chromiumMissing, sharedChromium, skipWhenMissing } from './harness/chromium.ts'
import { startNodePeer, wsAddress } from './harness/node-peers.ts'
import { servePage } from './harness/page-server.ts'
import { pollUntil, withTimeout } from './harness/poll.ts'
import { StepTimer } from './harness/step-timer.ts'
import { TestPage } from './harness/test-page.ts'
import type { PageConfig, PageState } from './fixtures/page-api.ts'
import type { NodePeer } from './harness/node-peers.ts'
import type { PageServer } from './harness/page-server.ts'
import type { DiscoveredRegistration, RendezvousClient } from '../../src/client/index.ts'
import type { Browser } from 'playwright-core'

const DAPP = 'e2e-chat'
const TOPIC = 'e2e-chat-room'

/** Set BROWSER_DEBUG=libp2p:rendezvous* (a `debug` pattern) to get the pages' libp2p logs on failure */
const DEBUG = process.env.BROWSER_DEBUG

/** The Node.js network one scenario runs against */
interface Network {
  point: NodePeer
  pointAddr: string
  relays: NodePeer[]
  /** The Node.js peer that finds browsers through rendezvous and dials them through a relay */
  peer: NodePeer & { services: { client: RendezvousClient } }
}

describe('browser nodes through rendezvous (Chromium end to end)', function () {
  // each scenario bounds its own waits well below this; the whole suite stays under 90 s
  this.timeout(45_000)

  let browser: Browser | undefined
  let server: PageServer | undefined
  let network: Network | undefined
  let timer: StepTimer
  const extraNodes: NodePeer[] = []
  const pages: TestPage[] = []
  const reports: Array<{ scenario: string, steps: StepTimer['steps'] }> = []

  before(async function () {
    this.timeout(60_000)
    skipWhenMissing(this, chromiumMissing())
    server = await servePage('rendezvous e2e', 'test/browser/fixtures/discovery-page.ts')
    browser = await sharedChromium()
  })

  beforeEach(() => {
    timer = new StepTimer()
  })

  afterEach(async function () {
    const title = this.currentTest?.title ?? 'scenario'
    timer.report(title)
    reports.push({ scenario: title, steps: timer.steps })
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      pages.forEach(page => { console.error(page.tail(80)) })
    }
    await Promise.all(pages.splice(0).map(async page => page.close()))
    await Promise.all(extraNodes.splice(0).map(async node => node.stop()))
    if (network != null) {
      await Promise.all([network.peer, ...network.relays, network.point].map(async node => node.stop()))
      network = undefined
    }
  })

  after(async () => {
    if (reports.length > 0) {
      // eslint-disable-next-line no-console
      console.log(`BROWSER_E2E_REPORT ${JSON.stringify(reports)}`)
    }
    await server?.close()
  })

  it('finds a relay through rendezvous, advertises its circuit address, and a Node.js peer dials it, exchanging a gossipsub message and a ping', async () => {
    const net = await setUpNetwork(2)
    const page = await openPage('A')
    const browserId = await timer.step('start the browser node', async () => page.start(pageConfig([TOPIC])))

    const circuit = await timer.step('discover a relay through rendezvous and hold a reservation', async () =>
      page.waitForState('a /p2p-circuit address through one of the relays', state => circuitThrough(state, net.relays), 20_000))
    expect(circuit).to.match(new RegExp(`/p2p-circuit/p2p/${browserId}$`))
    // and the relay holds the reservation on its side
    const relay = net.relays.find(r => circuit.includes(`/p2p/${r.peerId}/p2p-circuit`))
    expect([...(relay?.services.relay.reservations.keys() ?? [])].map(String)).to.include(browserId)

    const [dappRecord, topicRecord] = await timer.step('register the circuit address under the dapp and topic namespaces', async () => Promise.all([
      waitForCircuitRegistration(net, dappNamespace(DAPP), browserId),
      waitForCircuitRegistration(net, topicNamespace(TOPIC), browserId)
    ]))
    // signed peer records carry addresses without the trailing /p2p/<self>
    const advertised = withoutPeerId(circuit, browserId)
    expect(dappRecord.multiaddrs.map(String)).to.include(advertised)
    expect(topicRecord.multiaddrs.map(String)).to.include(advertised)

    net.peer.services.pubsub.subscribe(TOPIC)
    const connection = await timer.step('Node.js peer discovers the browser and dials it through the relay', async () => {
      const { registrations } = await net.peer.services.client.discover(multiaddr(net.pointAddr), dappNamespace(DAPP), { cookie: null })
      const found = registrations.find(r => r.peerId.toString() === browserId)
      if (found == null) {
        throw new Error(`the browser ${browserId} is not registered under ${dappNamespace(DAPP)}`)
      }
      // the record's addresses end at /p2p-circuit; the dial names the browser after it
      const circuits = found.multiaddrs.filter(ma => ma.toString().endsWith('/p2p-circuit')).map(ma => ma.encapsulate(`/p2p/${browserId}`))
      return net.peer.dial(circuits, { signal: AbortSignal.timeout(10_000) })
    })
    expect(connection.limits, 'a relayed connection is limited').to.exist()
    expect(connection.remotePeer.toString()).to.equal(browserId)

    await timer.step('both sides see each other subscribed to the topic', async () => Promise.all([
      page.waitForState('the Node.js peer among the topic subscribers', state => subscribed(state, net.peer.peerId.toString())),
      pollUntil('the browser among the Node.js peer\'s topic subscribers', () => nodeSeesSubscriber(net.peer, browserId), { timeout: 15_000 })
    ]))

    await timer.step('gossipsub message from Node.js to the browser', async () => {
      await net.peer.services.pubsub.publish(TOPIC, new TextEncoder().encode('hello from node'))
      return page.waitForState('the message from Node.js', state => messageFrom(state, 'hello from node', net.peer.peerId.toString()))
    })

    await timer.step('gossipsub message from the browser to Node.js', async () => {
      const received = nextMessage(net.peer)
      const recipients = await page.publish(TOPIC, 'hello from the browser')
      expect(recipients).to.be.greaterThan(0)
      expect(await withTimeout('the message from the browser to reach Node.js', received, 10_000)).to.equal('hello from the browser')
    })

    const rtts = await timer.step('ping both ways over the relayed connection', async () => Promise.all([
      pingOverConnection(connection, AbortSignal.timeout(10_000)),
      page.ping(net.peer.peerId.toString())
    ]))
    expect(rtts[0]).to.be.a('number')
    expect(rtts[1]).to.be.a('number')
  })

  it('two browser pages of the same dapp find each other and join the same gossipsub topic through the relay', async () => {
    const net = await setUpNetwork(2)
    const [pageA, pageB] = await Promise.all([openPage('A'), openPage('B')])
    const [idA, idB] = await timer.step('start both browser nodes', async () => Promise.all([
      pageA.start(pageConfig([TOPIC])),
      pageB.start(pageConfig([TOPIC]))
    ]))

    await timer.step('both pages hold a relay reservation', async () => Promise.all([
      pageA.waitForState('a /p2p-circuit address', state => circuitThrough(state, net.relays), 20_000),
      pageB.waitForState('a /p2p-circuit address', state => circuitThrough(state, net.relays), 20_000)
    ]))

    await timer.step('the pages connect to each other through a relay', async () => Promise.all([
      pageA.waitForState('a relayed connection to page B', state => relayedTo(state, idB), 20_000),
      pageB.waitForState('a relayed connection to page A', state => relayedTo(state, idA), 20_000)
    ]))

    await timer.step('each page sees the other subscribed to the topic', async () => Promise.all([
      pageA.waitForState('page B among the topic subscribers', state => subscribed(state, idB)),
      pageB.waitForState('page A among the topic subscribers', state => subscribed(state, idA))
    ]))

    await timer.step('gossipsub message from page B to page A', async () => {
      expect(await pageB.publish(TOPIC, 'hello from B')).to.be.greaterThan(0)
      return pageA.waitForState('the message from page B', state => messageFrom(state, 'hello from B', idB))
    })

    // the plugin counts the other page towards the dapp quota (once it has discovered it itself)
    await timer.step('page A counts page B towards its dapp quota', async () =>
      pageA.waitForState('a connected peer in the /dapp quota of page A', state => dappQuotaConnected(state) >= 1, 15_000))
  })

  it('moves to the second relay when its relay goes away, and advertises the new circuit address', async () => {
    const net = await setUpNetwork(1)
    const page = await openPage('A')
    const browserId = await timer.step('start the browser node (one relay wanted)', async () =>
      page.start({ ...pageConfig([]), discovery: { quotas: { relay: 1 } } }))

    const first = await timer.step('hold a reservation on the only relay', async () =>
      page.waitForState('a /p2p-circuit address', state => state.relays.length === 1 ? state.relays[0] : undefined, 20_000))
    const firstRelay = net.relays[0]
    expect(first).to.equal(firstRelay.peerId.toString())
    await waitForCircuitRegistration(net, dappNamespace(DAPP), browserId, first)

    // a second relay appears while the page's relay quota (1) is met: the page has no reason to dial it yet
    const secondRelay = await timer.step('a second relay registers under /libp2p/relay', async () => addRelay(net))
    expect((await page.state()).connections.some(c => c.peer === secondRelay.peerId.toString()), 'the page is not connected to the second relay yet').to.be.false()

    await timer.step('the first relay goes away', async () => firstRelay.stop())

    const newCircuit = await timer.step('find the second relay through rendezvous and hold a reservation there', async () =>
      page.waitForState('a /p2p-circuit address through the second relay', state => circuitThrough(state, [secondRelay]), 25_000))

    const record = await timer.step('register the new circuit address', async () =>
      waitForCircuitRegistration(net, dappNamespace(DAPP), browserId, secondRelay.peerId.toString()))
    expect(record.multiaddrs.map(String)).to.include(withoutPeerId(newCircuit, browserId))
    expect(record.multiaddrs.map(String).some(ma => ma.includes(first)), 'the dead relay is no longer advertised').to.be.false()

    const rtt = await timer.step('a Node.js peer dials the browser through the second relay and pings it', async () =>
      net.peer.services.ping.ping(multiaddr(newCircuit), { signal: AbortSignal.timeout(10_000) }))
    expect(rtt).to.be.a('number')
  })

  function requireNetwork (): Network {
    if (network == null || browser == null || server == null) {
      throw new Error('the browser suite did not set up')
    }
    return network
  }

  async function setUpNetwork (relays: number): Promise<Network> {
    network = await timer.step(`start the Node.js side (rendezvous point, ${relays} relay(s), a peer)`, async () => startNetwork(relays))
    return network
  }

  function pageConfig (topics: string[]): PageConfig {
    return { points: [requireNetwork().pointAddr], dapp: DAPP, topics, debug: DEBUG }
  }

  async function openPage (label: string): Promise<TestPage> {
    if (browser == null || server == null) {
      throw new Error('the browser suite did not set up')
    }
    const page = await timer.step(`open page ${label}`, async () => TestPage.open(browser as Browser, (server as PageServer).url, label))
    pages.push(page)
    return page
  }
})

/** A rendezvous point, `relays` relays that register under `/libp2p/relay` with the plugin, and a Node.js peer */
async function startNetwork (relays: number): Promise<Network> {
  const point = await startNodePeer({ pubsub: false, services: { rendezvous: rendezvousServer() } })
  const pointAddr = wsAddress(point)
  const peer = await startNodePeer({ listen: false, services: { client: rendezvousClient() } }) as Network['peer']
  const network: Network = { point, pointAddr, relays: [], peer }
  for (let i = 0; i < relays; i++) {
    await addRelay(network)
  }
  return network
}

/** Starts one more relay and waits until the point lists it under `/libp2p/relay` */
async function addRelay (net: Network): Promise<NodePeer> {
  const relay = await startNodePeer({
    relay: true,
    pubsub: false,
    // `never`: a relay on loopback has no public address, but it does not need a relay itself
    services: { rendezvous: rendezvousDiscovery({ points: [net.pointAddr], relay: 'never' }) }
  })
  net.relays.push(relay)
  await pollUntil(`relay ${relay.peerId} registered under ${RELAY_NAMESPACE}`, async () => {
    const { registrations } = await net.peer.services.client.discover(multiaddr(net.pointAddr), RELAY_NAMESPACE, { cookie: null })
    return registrations.some(r => r.peerId.equals(relay.peerId))
  }, { timeout: 10_000, interval: 100 })
  return relay
}

/**
 * Polls the point until the browser's registration under `ns` carries a circuit address (through `relay`, when
 * given), and returns that registration.
 */
async function waitForCircuitRegistration (net: Network, ns: string, browserId: string, relay?: string): Promise<DiscoveredRegistration> {
  return pollUntil(`a circuit address of ${browserId} registered under ${ns}${relay == null ? '' : ` through relay ${relay}`}`, async () => {
    const { registrations } = await net.peer.services.client.discover(multiaddr(net.pointAddr), ns, { cookie: null })
    const mine = registrations.find(r => r.peerId.toString() === browserId)
    const circuit = mine?.multiaddrs.find(ma => ma.toString().includes(relay == null ? '/p2p-circuit' : `/p2p/${relay}/p2p-circuit`))
    return circuit == null ? undefined : mine
  }, { timeout: 20_000, interval: 200, describe: () => 'not registered with such an address yet' })
}

/** `addr` without its trailing `/p2p/<peer>`, as signed peer records hold it */
function withoutPeerId (addr: string, peer: string): string {
  return addr.endsWith(`/p2p/${peer}`) ? addr.slice(0, -`/p2p/${peer}`.length) : addr
}

/** The page's circuit address through one of `relays`, if it has one */
function circuitThrough (state: PageState, relays: NodePeer[]): string | undefined {
  return state.circuitAddrs.find(addr => relays.some(relay => addr.includes(`/p2p/${relay.peerId}/p2p-circuit`)))
}

function subscribed (state: PageState, peer: string): boolean {
  return state.subscribers[TOPIC]?.includes(peer) ?? false
}

function relayedTo (state: PageState, peer: string): boolean {
  return state.connections.some(c => c.peer === peer && c.limited)
}

function messageFrom (state: PageState, text: string, from: string): PageState['messages'][number] | undefined {
  return state.messages.find(m => m.topic === TOPIC && m.text === text && m.from === from)
}

function nodeSeesSubscriber (node: NodePeer, peer: string): boolean {
  return node.services.pubsub.getSubscribers(TOPIC).some(p => p.toString() === peer)
}

/** The text of the next message `node` receives on the topic */
async function nextMessage (node: NodePeer): Promise<string> {
  return new Promise<string>(resolve => {
    const onMessage = (event: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
      if (event.detail.topic === TOPIC) {
        node.services.pubsub.removeEventListener('message', onMessage as any)
        resolve(new TextDecoder().decode(event.detail.data))
      }
    }
    node.services.pubsub.addEventListener('message', onMessage as any)
  })
}

/** Connected peers the plugin counts towards the dapp quota, from its status */
function dappQuotaConnected (state: PageState): number {
  const quotas: Array<{ ns: string, connected: number }> = (state.rendezvous as any)?.dialer?.quotas ?? []
  return quotas.find(q => q.ns === dappNamespace(DAPP))?.connected ?? 0
}
