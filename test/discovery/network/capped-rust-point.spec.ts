/**
 * A rendezvous point that refuses some registrations: the real rust-libp2p point (the interop peer built by
 * test/interop/build.sh, rendezvous 0.18), whose default cap is 32 registrations per peer, past which it answers
 * E_UNAVAILABLE while it keeps serving the peer's other namespaces. Two nodes of ours with 40 pubsub topics each
 * (8 past the cap) and default discovery options must settle down: the refused namespaces back off at that point
 * alone, the point is never taken for down, and DISCOVERs keep their own schedule. The requests are counted at the
 * point, which logs each one it serves.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { gossipsub } from '@libp2p/gossipsub'
import { tcp } from '@libp2p/tcp'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import { createTestNode, TCP_LOOPBACK } from '../../fixtures/memory-node.ts'
import { INTEROP_BIN_DIR, PeerProcess, stopAllPeers } from '../../interop/fixtures/peer-process.ts'
import { stopAll } from './fixtures.ts'
import type { RendezvousDiscovery } from '../../../src/discovery/index.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

type Node = Libp2p<{ identify: unknown, pubsub: GossipSub, rendezvous: RendezvousDiscovery }>

const RUST_POINT = join(INTEROP_BIN_DIR, 'rendezvous-peer-rust')

/** rust-libp2p's default `max_registrations_per_peer` */
const RUST_CAP = 32

/** How long the nodes may take to settle, and the window counted after it, in ms */
const SETTLE_MS = 15_000
const WINDOW_MS = 30_000

/** One request the point served or refused, from its log line (`server: DiscoverServed { enquirer: PeerId("…"), … }`) */
interface Served {
  at: number
  event: string
  peer: string
}

/** Starts the Rust point and collects what it logs of each request */
async function startRustPoint (): Promise<{ point: PeerProcess, served: Served[] }> {
  const served: Served[] = []
  let partial = ''
  const point = await PeerProcess.start('rust', 'server', undefined, {
    args: ['--listen', '/ip4/127.0.0.1/tcp/0'],
    lifetime: (SETTLE_MS + WINDOW_MS) / 1000 + 60,
    onStderr: (text) => {
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''

      for (const line of lines) {
        const match = /^server: (\w+) \{ (?:enquirer|peer): PeerId\("(\w+)"\)/.exec(line)

        if (match != null) {
          served.push({ at: Date.now(), event: match[1], peer: match[2] })
        }
      }
    }
  })

  return { point, served }
}

/** A node of ours on TCP 127.0.0.1 with default discovery options and `topics` pubsub topics */
async function createNode (point: string, topics: number): Promise<Node> {
  const node: Node = await createTestNode({
    addresses: { listen: TCP_LOOPBACK },
    transports: [tcp()],
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: {
      pubsub: gossipsub(),
      // the nodes reach each other directly on 127.0.0.1
      rendezvous: rendezvousDiscovery({ points: [point], relay: 'never' })
    }
  }) as any

  for (let i = 0; i < topics; i++) {
    node.services.pubsub.subscribe(`topic-${i}`)
  }

  return node
}

function takesPointForDown (node: Node): boolean {
  return node.services.rendezvous.status.scheduler.points.some(p => p.down)
}

describe('a rust-libp2p point that caps the registrations of a peer', function () {
  this.timeout(SETTLE_MS + WINDOW_MS + 60_000)

  let nodes: Node[] = []

  before(function () {
    if (!existsSync(RUST_POINT)) {
      // eslint-disable-next-line no-console
      console.log(`      SKIPPED: no ${RUST_POINT}: build the Rust peer with test/interop/build.sh (needs cargo and go; .ci/run does it)`)
      this.skip()
    }
  })

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
    await stopAllPeers()
  })

  it('two nodes with 40 topics each (8 past the cap) settle to fewer than 1 request per node per 10 s after 15 s, and never take the point for down', async () => {
    const { point, served } = await startRustPoint()
    const started = Date.now()
    nodes = [await createNode(point.multiaddr, 40), await createNode(point.multiaddr, 40)]
    let pointDown = 0
    const sample = setInterval(() => { pointDown += nodes.filter(takesPointForDown).length }, 100)

    try {
      await delay(SETTLE_MS + WINDOW_MS - (Date.now() - started))
    } finally {
      clearInterval(sample)
    }

    const ids = new Set(nodes.map(node => node.peerId.toString()))
    const ours = served.filter(s => ids.has(s.peer))
    const late = ours.filter(s => s.at - started >= SETTLE_MS)
    const perNodePer10s = late.length / nodes.length / (WINDOW_MS / 10_000)
    const count = (list: Served[], event: string): number => list.filter(s => s.event === event).length
    // eslint-disable-next-line no-console
    console.log(`      at the point: ${count(ours, 'DiscoverServed')} DISCOVERs, ${count(ours, 'PeerRegistered')} REGISTERs accepted, ${count(ours, 'PeerNotRegistered')} refused in all; after ${SETTLE_MS / 1000} s: ${late.length} requests in ${WINDOW_MS / 1000} s (${perNodePer10s.toFixed(2)} per node per 10 s: ${count(late, 'DiscoverServed')} DISCOVERs, ${count(late, 'PeerNotRegistered')} refused REGISTERs)`)

    expect(perNodePer10s).to.be.lessThan(1, `${late.length} requests after ${SETTLE_MS / 1000} s`)
    expect(pointDown).to.equal(0, 'a node took the point for down')

    for (const node of nodes) {
      const registrations = node.services.rendezvous.status.scheduler.registrations
      expect(registrations.filter(r => r.registered)).to.have.lengthOf(RUST_CAP, 'registered up to the cap')
      expect(registrations.filter(r => !r.registered).every(r => /E_UNAVAILABLE/.test(r.lastError ?? ''))).to.be.true('the others refused')
    }
  })
})
