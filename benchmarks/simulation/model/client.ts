/**
 * The rendezvous client of a simulated node, in place of `DefaultRendezvousClient`: the same interface and the
 * same behaviour as the module sees it (a REGISTER resolves to the TTL granted or rejects with the point's status,
 * a DISCOVER resolves to a page of records and a cookie), with the wire replaced by the network model:
 *
 * - the first request to a point opens a connection to it (a handshake), which stays open;
 * - a request reaches the point `requestRtts - 0.5` round trips later, where the point's handlers run, and the
 * reply comes back half a round trip after that (UNREGISTER has no reply: it resolves once sent);
 * - the record a REGISTER carries is the node's record for the addresses given, sealed once per set of addresses
 * (the real client seals a new one per REGISTER; the points would take either);
 * - records come back from the points' stores as the bytes they keep, and are read back to the peer ids and
 * addresses the simulation sealed into them, without a signature check.
 */
import { RendezvousError } from '../../../src/errors.ts'
import { Message } from '../../../src/pb/rendezvous.ts'
import type { TrustedRecords } from './identities.ts'
import type { ProcessRun } from './network.ts'
import type { SimNode } from './node.ts'
import type { PointCounters, SimPoint } from './point.ts'
import type { DiscoverOptions, DiscoverResult, DiscoveredRegistration, RegisterOptions, RendezvousClient, RendezvousPoint } from '../../../src/client/types.ts'
import type { AbortOptions } from '@libp2p/interface'

/** What the client needs of the world around it */
export interface ClientNetwork {
  /** The point at this address */
  point(address: RendezvousPoint): SimPoint
  /** Waits until `node` has a connection to `point` (opening one if needed) */
  connectToPoint(node: SimNode, point: SimPoint, options: AbortOptions): Promise<void>
  /** Waits `ms` of simulated time; rejects when the signal aborts */
  delay(ms: number, options: AbortOptions): Promise<void>
  /** Round trip between the node and the point, ms */
  rtt(node: SimNode, point: SimPoint): number
  /** Round trips a request takes on an open connection */
  requestRtts: number
  /** The CPU of a run with a process model (validation) */
  processes?: ProcessRun
  trusted: TrustedRecords
}

export class SimClient implements RendezvousClient {
  private readonly node: SimNode
  private readonly network: ClientNetwork
  /** Where the requests of the sampled (real) nodes are counted as the points count them */
  private readonly tally?: PointCounters

  constructor (node: SimNode, network: ClientNetwork, tally?: PointCounters) {
    this.node = node
    this.network = network
    this.tally = tally
  }

  async register (address: RendezvousPoint, namespace: string, options: RegisterOptions = {}): Promise<number> {
    this.node.sent.register++
    const multiaddrs = options.multiaddrs ?? this.node.addresses()
    const record = this.node.recordFor(multiaddrs)
    const request: Message.Register = { ns: namespace, signedPeerRecord: record.envelope as Uint8Array<ArrayBuffer> }

    if (options.ttl != null) {
      request.ttl = BigInt(options.ttl)
    }

    const response = await this.exchange('register', address, options, async (point) => point.handle('register', request, this.node.peerId), () => 0)
    return Number(response.ttl ?? 0n)
  }

  async unregister (address: RendezvousPoint, namespace: string, options: AbortOptions = {}): Promise<void> {
    this.node.sent.unregister++
    const point = this.network.point(address)
    await this.send(point, 'unregister', options)

    if (this.tally != null) {
      this.tally.unregister++
    }

    await point.handle('unregister', { ns: namespace }, this.node.peerId)
  }

  async discover (address: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): Promise<DiscoverResult> {
    this.node.sent.discover++
    const request: Message.Discover = { ns: namespace, limit: BigInt(options.limit ?? 1000) }

    if (options.cookie != null) {
      request.cookie = options.cookie as Uint8Array<ArrayBuffer>
    }

    const response = await this.exchange('discover', address, options, async (point) => point.handle('discover', request, this.node.peerId), r => r.registrations.length)

    if (this.tally != null) {
      this.tally.returned += response.registrations.length

      for (const r of response.registrations) {
        this.tally.returnedBytes += r.signedPeerRecord?.byteLength ?? 0
      }
    }

    const registrations: DiscoveredRegistration[] = []
    let dropped = 0

    for (const r of response.registrations) {
      const verified = r.signedPeerRecord == null ? undefined : this.network.trusted.lookup(r.signedPeerRecord)

      if (verified == null) {
        dropped++
        continue
      }

      registrations.push({
        peerId: verified.peerId,
        multiaddrs: verified.multiaddrs,
        namespace: r.ns ?? namespace ?? '',
        ttl: Number(r.ttl ?? 0n),
        seqNumber: verified.seqNumber,
        signedPeerRecord: r.signedPeerRecord ?? new Uint8Array(0)
      })
    }

    return { registrations, cookie: response.cookie, dropped }
  }

  async * discoverAll (address: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): AsyncGenerator<DiscoveredRegistration> {
    let cookie = options.cookie
    const limit = options.limit ?? 1000

    for (let page = 0; page < 100; page++) {
      const result = await this.discover(address, namespace, { ...options, cookie })
      yield * result.registrations

      if (result.cookie == null || result.registrations.length + result.dropped < limit) {
        return
      }

      cookie = result.cookie
    }
  }

  resetCookies (): void {}

  /** Waits until the request is at the point: a connection first if there is none, then the request's way there */
  private async send (point: SimPoint, type: 'register' | 'discover' | 'unregister', options: AbortOptions): Promise<void> {
    if (!this.node.online) {
      throw new Error('the node is gone')
    }

    await this.network.connectToPoint(this.node, point, options)
    const run = this.network.processes

    if (run == null) {
      await this.network.delay(this.network.rtt(this.node, point) * (this.network.requestRtts - 0.5), options)
    } else {
      // an UNREGISTER costs about what a DISCOVER of nothing does (no record either way)
      await this.node.process?.run(type === 'register' ? run.costs.register.clientMs : run.costs.discover.clientMs, type)
      await this.network.delay(run.costs.latency.pointRequestMs / 2, options)
    }

    if (!this.node.online) {
      // it vanished while the request was on its way: nothing arrives
      throw new Error('the node is gone')
    }
  }

  /** One request and its reply: the point's error status comes back as a RendezvousError, half a round trip later */
  private async exchange <T> (type: 'register' | 'discover', address: RendezvousPoint, options: AbortOptions, handle: (point: SimPoint) => Promise<T>, records: (reply: T) => number): Promise<T> {
    const point = this.network.point(address)
    await this.send(point, type, options)
    let reply: T | undefined
    let error: Error | undefined

    if (this.tally != null) {
      this.tally[type]++
    }

    try {
      reply = await handle(point)
    } catch (err) {
      if (this.tally != null) {
        this.tally.refused++
      }

      error = err instanceof RendezvousError ? err : new RendezvousError(Message.ResponseStatus.E_INTERNAL_ERROR, String(err))
    }

    const run = this.network.processes

    if (run == null) {
      await this.network.delay(this.network.rtt(this.node, point) / 2, options)
    } else {
      const returned = reply == null ? 0 : records(reply)
      const costs = run.costs
      await run.point.run(type === 'register' ? costs.register.pointMs : costs.discover.pointMs + costs.discover.pointPerRecordMs * returned, type)
      await this.network.delay(costs.latency.pointRequestMs / 2, options)
      await this.node.process?.run(costs.discover.clientPerRecordMs * returned, 'records')
    }

    if (error != null) {
      throw error
    }

    return reply as T
  }
}
