/**
 * Points of a network of points for tests: real libp2p nodes running the rendezvous server, on the in-memory
 * transport, each with an identity made before it starts so that every point's configuration can name the others
 * (their addresses and peer ids) as an operator's would. And what a node sees of them: DISCOVER of
 * `/libp2p/rendezvous` over the wire.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import pWaitFor from 'p-wait-for'
import { rendezvousClient } from '../../../src/client/index.ts'
import { POINTS_NAMESPACE } from '../../../src/constants.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createMemoryNode, memoryAddress } from '../../fixtures/memory-node.ts'
import type { RendezvousClient } from '../../../src/client/types.ts'
import type { RendezvousServerInit } from '../../../src/server/index.ts'
import type { RendezvousServer } from '../../../src/server/rendezvous-server.ts'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type PointNode = Libp2p<{ identify: unknown, rendezvous: RendezvousServer }>
export type ClientNode = Libp2p<{ identify: unknown, rendezvous: RendezvousClient }>

/** A point's identity and address, known before it starts */
export interface PointPlan {
  privateKey: PrivateKey
  peerId: PeerId
  /** Its listen address */
  listen: string
  /** Its dialable address, ending in /p2p/<id>, as other points are given it */
  address: Multiaddr
}

export async function planPoint (label: string): Promise<PointPlan> {
  const privateKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey)
  const listen = memoryAddress(label)
  return { privateKey, peerId, listen, address: multiaddr(`${listen}/p2p/${peerId}`) }
}

/** The nodes a test started: `stopAll()`, from an `afterEach`, stops every one still running */
export class PointNodes {
  private readonly nodes: Libp2p[] = []

  /** A point with the planned identity and address; not started unless `start` */
  async point (plan: PointPlan, init: RendezvousServerInit = {}, start = true): Promise<PointNode> {
    const node = await createMemoryNode({
      privateKey: plan.privateKey,
      addresses: { listen: [plan.listen] },
      services: { rendezvous: rendezvousServer(init) },
      start
    } as any, 'point') as unknown as PointNode
    this.nodes.push(node)
    return node
  }

  /** A point that also has the package's client, to register by hand what a point of ours would not */
  async pointWithClient (plan: PointPlan, init: RendezvousServerInit = {}): Promise<PointNode & Libp2p<{ client: RendezvousClient }>> {
    const node = await createMemoryNode({
      privateKey: plan.privateKey,
      addresses: { listen: [plan.listen] },
      services: { rendezvous: rendezvousServer(init), client: rendezvousClient() }
    } as any, 'point') as unknown as PointNode & Libp2p<{ client: RendezvousClient }>
    this.nodes.push(node)
    return node
  }

  /** A node with the package's client, to ask points what they list as a node would */
  async client (): Promise<ClientNode> {
    const node = await createMemoryNode({ services: { rendezvous: rendezvousClient() } }, 'client') as unknown as ClientNode
    this.nodes.push(node)
    return node
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.splice(0).map(async node => node.stop()))
  }
}

/** The peer ids a point lists under `/libp2p/rendezvous`, as a node asking it over the wire sees them, sorted */
export async function listedAt (client: ClientNode, point: PointNode | Multiaddr[]): Promise<string[]> {
  const target = Array.isArray(point) ? point : point.getMultiaddrs()
  const { registrations } = await client.services.rendezvous.discover(target, POINTS_NAMESPACE, { cookie: null })
  return registrations.map(registration => registration.peerId.toString()).sort()
}

/** The peer ids a point lists under `/libp2p/rendezvous` in its store (no request, for polling), sorted */
export async function listedIn (point: PointNode): Promise<string[]> {
  const { registrations } = await point.services.rendezvous.store.discover({ namespace: POINTS_NAMESPACE, afterSeq: 0n, limit: 1000, now: Date.now() })
  return registrations.map(registration => registration.peerId).sort()
}

/** Polls `condition` every 20 ms (p-wait-for); resolves with the ms it took, which tests report, and rejects naming `what` after `ms` */
export async function within (what: string, ms: number, condition: () => boolean | Promise<boolean>): Promise<number> {
  const started = performance.now()
  await pWaitFor(condition, { interval: 20, timeout: { milliseconds: ms, message: `${what} did not happen within ${ms} ms` } })
  return performance.now() - started
}

export function sorted (ids: Array<PeerId | string>): string[] {
  return ids.map(id => id.toString()).sort()
}
