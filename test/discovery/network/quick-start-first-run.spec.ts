/**
 * A first run as a new user makes it (issue 20, items 12 and 13), on real nodes built like the README's quick start:
 * TCP on 127.0.0.1, noise, yamux, identify, gossipsub, the discovery module with its default options, and a real
 * rendezvous server on 127.0.0.1.
 *
 * - A node whose point is on 127.0.0.1 and that listens there itself needs no relay, and is not told that it lacks
 * circuitRelayTransport() (its first state is read before its listener is up); a node that really needs a relay
 * and has no such transport still is, once.
 * - A point that is down at the start is named in one warning with the error its requests get, and once it comes
 * up (on the same port, with the same identity) the nodes register there within about 15 s.
 */
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { createLibp2p } from 'libp2p'
import { DISCOVERY_DEFAULTS } from '../../../src/discovery/config.ts'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { POINT_ANSWER_GRACE, STATE_GRACE } from '../../../src/discovery/state/setup-checks.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { stopAll, waitFor } from './fixtures.ts'
import type { RendezvousDiscovery, RendezvousDiscoveryInit } from '../../../src/discovery/index.ts'
import type { DiscoveryWarning } from '../../../src/discovery/warnings.ts'
import type { RendezvousServer } from '../../../src/server/index.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

type QuickStartNode = Libp2p<{ identify: unknown, pubsub: unknown, rendezvous: RendezvousDiscovery }>
type QuickStartPoint = Libp2p<{ identify: unknown, rendezvous: RendezvousServer }>

/** A node as README's node.ts builds it, with the warnings it says collected in `said` */
async function quickStartNode (point: string, said: DiscoveryWarning[], init: RendezvousDiscoveryInit = {}, listen = ['/ip4/127.0.0.1/tcp/0']): Promise<QuickStartNode> {
  return createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // 127.0.0.1 is rate limited per host by default: several nodes of one test would trip it
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: {
      identify: identify(),
      pubsub: gossipsub(),
      rendezvous: rendezvousDiscovery({ points: [point], onWarning: (warning) => said.push(warning), ...init })
    }
  }) as unknown as Promise<QuickStartNode>
}

/** A point as README's point.ts builds it, on `listen` and with `privateKey` when given */
async function quickStartPoint (listen = '/ip4/127.0.0.1/tcp/0', privateKey?: PrivateKey): Promise<QuickStartPoint> {
  return createLibp2p({
    ...(privateKey == null ? {} : { privateKey }),
    addresses: { listen: [listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: { identify: identify(), rendezvous: rendezvousServer() }
  }) as unknown as Promise<QuickStartPoint>
}

/** A TCP port on 127.0.0.1 that was free a moment ago */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))

  if (address == null || typeof address === 'string') {
    throw new Error('no port')
  }

  return address.port
}

function registered (node: QuickStartNode): boolean {
  return node.services.rendezvous.status.scheduler.registrations.some(r => r.registered)
}

describe('a first run of the quick start (issue 20)', function () {
  this.timeout(120_000)

  let nodes: Libp2p[]

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  it('item 12: a node on the private network of its point says no warning, and one that needs a relay it cannot use says so once', async () => {
    const point = await quickStartPoint()
    nodes.push(point)
    const address = point.getMultiaddrs()[0].toString()
    const local: DiscoveryWarning[] = []
    const stranded: DiscoveryWarning[] = []

    const node = await quickStartNode(address, local)
    // no listen address and no circuitRelayTransport(): it needs a relay it cannot use
    const dialOnly = await quickStartNode(address, stranded, {}, [])
    nodes.push(node, dialOnly)
    ;(node.services.pubsub as any).subscribe('news')
    ;(dialOnly.services.pubsub as any).subscribe('news')

    expect(await waitFor(() => registered(node), 5000)).to.be.true('the local node registered')
    // past the time a state without addresses is judged at
    await delay(STATE_GRACE + 1000)

    expect(local.map(w => `${w.code}: ${w.message}`)).to.deep.equal([])
    expect(node.services.rendezvous.status.warnings).to.deep.equal([])
    expect(node.services.rendezvous.status.namespaces.map(s => s.ns)).to.deep.equal(['floodsub:news'])
    // the cause, with its fix, once (not also "no addresses", which would send the user after a listen address)
    expect(stranded.map(w => w.code)).to.deep.equal(['no-relay-transport'])
    expect(stranded[0].message).to.include('circuitRelayTransport()')
  })

  it('item 13: a point that is down at the start is named in one warning, and both nodes register there within 15 s of it coming up', async function () {
    // the nodes back off for a minute before the point comes (the issue saw 91 s): long enough that an uncapped
    // backoff leaves one of two nodes waiting far past 15 s, most of the time
    const downFor = Number(process.env.RENDEZVOUS_POINT_DOWN_MS ?? 60_000)
    this.timeout(downFor + 60_000)
    const port = await freePort()
    const key = await generateKeyPair('Ed25519')
    const address = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(key).toString()}`
    const said: DiscoveryWarning[][] = [[], []]

    // the module's own point backoff, whatever the test fixtures use elsewhere
    const init: RendezvousDiscoveryInit = { pointBackoff: { ...DISCOVERY_DEFAULTS.pointBackoff } }
    const pair = await Promise.all(said.map(async warnings => quickStartNode(address, warnings, init)))
    nodes.push(...pair)
    pair.forEach(node => { (node.services.pubsub as any).subscribe('news') })

    await delay(POINT_ANSWER_GRACE + 1000)
    for (const warnings of said) {
      expect(warnings.map(w => w.code)).to.deep.equal(['point-unreachable'])
      expect(warnings[0].message).to.include(address).and.to.include('ECONNREFUSED')
    }
    expect(pair[0].services.rendezvous.status.warnings.map(w => w.code)).to.deep.equal(['point-unreachable'])

    await delay(downFor - POINT_ANSWER_GRACE - 1000)
    const point = await quickStartPoint(`/ip4/127.0.0.1/tcp/${port}`, key)
    nodes.push(point)
    const up = Date.now()
    const after: number[] = []
    await Promise.all(pair.map(async (node, i) => {
      await waitFor(() => registered(node), 30_000, 100)
      after[i] = Date.now() - up
    }))

    // eslint-disable-next-line no-console
    console.log(`      point down for ${downFor / 1000} s; registered there ${after.map(ms => `${(ms / 1000).toFixed(1)} s`).join(' and ')} after it came up`)
    expect(Math.max(...after)).to.be.below(15_000)
    // said once, not once per failure
    expect(said.map(warnings => warnings.length)).to.deep.equal([1, 1])
  })

  it('item 13: a point with a wrong peer id is named in one warning with the error', async () => {
    const point = await quickStartPoint()
    nodes.push(point)
    const wrong = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const address = point.getMultiaddrs()[0].decapsulate('/p2p').encapsulate(`/p2p/${wrong}`).toString()
    const said: DiscoveryWarning[] = []
    const node = await quickStartNode(address, said)
    nodes.push(node)
    ;(node.services.pubsub as any).subscribe('news')

    expect(await waitFor(() => said.length > 0, POINT_ANSWER_GRACE + 5000, 100)).to.be.true('warned')
    expect(said.map(w => w.code)).to.deep.equal(['point-unreachable'])
    expect(said[0].message).to.include(address)
    // eslint-disable-next-line no-console
    console.log(`      ${said[0].message}`)
  })
})
