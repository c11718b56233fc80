/**
 * The network between simulated nodes and points: round trips from each end's delay to the core, dials that take
 * a handshake (through a relay for a node that cannot be dialed directly), connection limits at the dialed end,
 * dials of peers that are gone (refused after a round trip, or left to time out), relay reservations, and the
 * subscriptions pubsub learns a few round trips after a connection opens.
 *
 * Simplifications, each small next to what is measured: a relayed dial leaves no connection to the relay behind;
 * points accept every connection and never fail; relay reservations do not expire while their connection lasts.
 */
import { circuitAddress } from './node.ts'
import type { ClientNetwork } from './client.ts'
import type { TrustedRecords } from './identities.ts'
import type { Endpoint, NodeNetwork, SimConnection, SimNode } from './node.ts'
import type { SimPoint } from './point.ts'
import type { LatencyModel, SharedCpuModel } from './scenario.ts'
import type { RendezvousPoint } from '../../../src/client/types.ts'
import type { Random } from '../engine/random.ts'
import type { VirtualClock } from '../engine/virtual-clock.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** One CPU that every node of a one-process run shares: work queues behind the work before it */
export class SharedCpu {
  private busyUntil = 0
  private readonly clock: VirtualClock
  /** CPU time used, ms */
  used = 0

  constructor (clock: VirtualClock) {
    this.clock = clock
  }

  /** Resolves once `ms` of CPU time, queued behind what came before, is done */
  async run (ms: number): Promise<void> {
    const now = this.clock.now()
    this.busyUntil = Math.max(this.busyUntil, now) + ms
    this.used += ms
    const wait = this.busyUntil - now
    await new Promise<void>(resolve => this.clock.setTimeout(resolve, wait))
  }
}

/** What the network reports to whoever measures */
export interface NetworkObserver {
  /** Something that may change a node's quotas happened (a connection, a subscription learned, a reservation) */
  changed(node: SimNode): void
}

export interface DialCounters {
  /** Dials of peers started (a dial joining one in flight is not counted) */
  started: number
  /** Of those, dials of peers that were gone */
  gone: number
  /** Dials refused by the dialed node (at maxConnections) */
  refused: number
  /** Dials of nodes without a reservation to reach them by */
  unreachable: number
  /** Other failures: aborted, the dialer or the dialed left during the handshake */
  failed: number
  /** Connections opened by dials of peers */
  opened: number
  /** Connections to points opened */
  points: number
  /** Connections closed by pruning */
  pruned: number
  /** Reservation requests refused by a full relay */
  reservationsRefused: number
}

function abortError (signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
}

export class Network implements NodeNetwork, ClientNetwork {
  /** Online nodes, by peer id */
  readonly nodes = new Map<string, SimNode>()
  readonly points: SimPoint[]
  readonly latency: LatencyModel
  readonly trusted: TrustedRecords
  readonly dials: DialCounters = { started: 0, gone: 0, refused: 0, unreachable: 0, failed: 0, opened: 0, points: 0, pruned: 0, reservationsRefused: 0 }
  readonly requestRtts: number
  readonly cpu?: () => Promise<void>
  private readonly clock: VirtualClock
  private readonly random: Random
  private readonly sharedCpu?: SharedCpu
  private readonly cpuModel?: SharedCpuModel
  private readonly relayMaxReservations: number
  private readonly observer: NetworkObserver
  private readonly pointsByAddress = new Map<string, SimPoint>()
  private readonly pointDials = new Map<string, Promise<void>>()
  /** Relays that refused a node's reservation, by node id: not asked again while the connection lasts */
  private readonly refusedBy = new Map<string, Set<string>>()
  /** Mean one-way delay of a node, for dials of peers that are gone (whose delay nobody knows) */
  private readonly meanAccessDelay: number
  /** Online nodes that run a relay, for the light browsers' reservations (and their places in it) */
  private readonly relayList: SimNode[] = []
  private readonly relayIndex = new Map<string, number>()

  constructor (init: { clock: VirtualClock, random: Random, latency: LatencyModel, points: SimPoint[], trusted: TrustedRecords, relayMaxReservations: number, cpu?: SharedCpuModel, observer: NetworkObserver }) {
    this.clock = init.clock
    this.random = init.random
    this.latency = init.latency
    this.points = init.points
    this.trusted = init.trusted
    this.relayMaxReservations = init.relayMaxReservations
    this.observer = init.observer
    this.requestRtts = init.latency.requestRtts
    this.meanAccessDelay = (init.latency.accessDelayMs[0] + init.latency.accessDelayMs[1]) / 2

    for (const point of init.points) {
      this.pointsByAddress.set(point.multiaddr.toString(), point)
      this.pointsByAddress.set(point.identity.id, point)
    }

    if (init.cpu != null) {
      const cpu = new SharedCpu(init.clock)
      const model = init.cpu
      this.sharedCpu = cpu
      this.cpuModel = model
      this.cpu = async () => cpu.run(model.requestMs)
    }
  }

  /** A node came online (`online`) or went */
  track (node: SimNode, online: boolean): void {
    if (!node.runsRelay) {
      return
    }

    if (online) {
      this.relayIndex.set(node.id, this.relayList.length)
      this.relayList.push(node)
      return
    }

    const index = this.relayIndex.get(node.id)

    if (index != null) {
      const last = this.relayList.pop() as SimNode

      if (last !== node) {
        this.relayList[index] = last
        this.relayIndex.set(last.id, index)
      }

      this.relayIndex.delete(node.id)
    }
  }

  /**
   * A light browser's reservation: on a random online relay with room, without a connection of its own (a light
   * node's only traffic is its registrations). Made when it joins, and again when a dial finds its relay gone
   */
  assignLightRelay (node: SimNode): void {
    if (node.lightRelay != null) {
      node.lightRelay.reservations.delete(node.id)
      node.lightRelay = undefined
    }

    for (let tries = 0; tries < 8 && this.relayList.length > 0; tries++) {
      const relay = this.relayList[this.random.int(this.relayList.length)]

      if (relay.reservations.size < this.relayMaxReservations) {
        relay.reservations.add(node.id)
        node.lightRelay = relay
        return
      }
    }
  }

  /** CPU time the shared CPU did, ms (validation runs) */
  get cpuUsed (): number {
    return this.sharedCpu?.used ?? 0
  }

  /** Runs `ms` of work on the shared CPU, when the run has one */
  async work (ms: (model: SharedCpuModel) => number): Promise<void> {
    if (this.sharedCpu != null && this.cpuModel != null) {
      await this.sharedCpu.run(ms(this.cpuModel))
    }
  }

  rtt (a: Endpoint, b: Endpoint): number {
    return a.accessDelay + b.accessDelay
  }

  async delay (ms: number, options: AbortOptions = {}): Promise<void> {
    const signal = options.signal

    if (signal == null) {
      await new Promise<void>(resolve => this.clock.setTimeout(resolve, ms))
      return
    }

    signal.throwIfAborted()

    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.clock.clearTimeout(timer)
        reject(abortError(signal))
      }
      const timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  point (address: RendezvousPoint): SimPoint {
    const key = Array.isArray(address) ? address[0]?.toString() : (address as Multiaddr | PeerId).toString()
    const point = key == null ? undefined : this.pointsByAddress.get(key)

    if (point == null) {
      throw new Error(`no point at ${String(key)}`)
    }

    return point
  }

  async connectToPoint (node: SimNode, point: SimPoint, options: AbortOptions): Promise<void> {
    if (node.connectionTo(point.identity.id) != null) {
      return
    }

    const key = `${node.id}>${point.identity.id}`
    let dial = this.pointDials.get(key)

    if (dial == null) {
      dial = (async () => {
        await this.work(m => m.connectionMs)
        await this.delay(this.latency.handshakeRtts * this.rtt(node, point))

        if (!node.online) {
          throw new Error('the node is gone')
        }

        if (node.connectionTo(point.identity.id) == null) {
          this.dials.points++
          node.attach({ local: node, remotePeer: point.peerId, remote: point, status: 'open', direction: 'outbound', timeline: { open: this.clock.now() }, streams: [] })
          node.prune()
        }
      })().finally(() => { this.pointDials.delete(key) })
      this.pointDials.set(key, dial)
    }

    await dial
    options.signal?.throwIfAborted()
  }

  async dial (from: SimNode, peer: PeerId, options: AbortOptions): Promise<SimConnection> {
    const id = peer.toString()
    const existing = from.connectionTo(id)

    if (existing != null) {
      return existing
    }

    let dial = from.dialing.get(id)

    if (dial == null) {
      dial = this.open(from, id, options)
      from.dialing.set(id, dial)
      dial.finally(() => {
        if (from.dialing.get(id) === dial) {
          from.dialing.delete(id)
        }
      }).catch(() => {})
    }

    return dial
  }

  close (connection: SimConnection): void {
    if (connection.status === 'closed') {
      return
    }

    connection.status = 'closed'
    connection.local.detach(connection)

    if (connection.pair != null) {
      connection.pair.status = 'closed'
      connection.pair.local.detach(connection.pair)
      this.refusedBy.get(connection.local.id)?.delete(connection.pair.local.id)
      this.refusedBy.get(connection.pair.local.id)?.delete(connection.local.id)
      this.observer.changed(connection.pair.local)
    }

    this.observer.changed(connection.local)
  }

  /** Closes every connection of a node that leaves */
  disconnectAll (node: SimNode): void {
    for (const connection of [...node.connectionManager.getConnections()]) {
      this.close(connection)
    }

    this.refusedBy.delete(node.id)
  }

  reserve (node: SimNode): void {
    if (!node.online) {
      return
    }

    const inUse = node.relaysInUse()
    const refused = this.refusedBy.get(node.id)

    for (const listener of node.unreservedListeners()) {
      const relay = node.connectionManager.getConnections()
        .map(c => this.nodes.get(c.remotePeer.toString()))
        .find(peer => peer?.runsRelay === true && !inUse.has(peer.id) && refused?.has(peer.id) !== true)

      if (relay == null) {
        return
      }

      inUse.add(relay.id)
      listener.reserving = true

      void this.delay(this.rtt(node, relay)).then(() => {
        listener.reserving = false

        if (listener.closed || !node.online || !relay.online || node.connectionTo(relay.id) == null) {
          this.reserve(node)
          return
        }

        if (relay.reservations.size >= this.relayMaxReservations) {
          this.dials.reservationsRefused++
          let set = this.refusedBy.get(node.id)

          if (set == null) {
            set = new Set()
            this.refusedBy.set(node.id, set)
          }

          set.add(relay.id)
          this.reserve(node)
          return
        }

        node.reserved(listener, relay, circuitAddress(relay))
        this.observer.changed(node)
      })
    }
  }

  /** A dial of a peer that is not connected yet */
  private async open (from: SimNode, id: string, options: AbortOptions): Promise<SimConnection> {
    this.dials.started++
    const to = this.nodes.get(id)

    if (to == null || to === from) {
      this.dials.gone++
      const refused = this.random.chance(this.latency.deadDialRefusedShare)
      await this.delay(refused ? from.accessDelay + this.meanAccessDelay : this.latency.deadDialTimeoutMs, options)
      throw new Error('dial failed: nobody answers at the registered addresses')
    }

    let wait: number

    if (to.kind === 'browser') {
      if (to.light && to.reservedRelay() == null) {
        this.assignLightRelay(to)
      }

      const relay = to.reservedRelay()

      if (relay == null) {
        this.dials.unreachable++
        await this.delay(this.rtt(from, to), options)
        throw new Error('dial failed: no relay holds a reservation for the peer')
      }

      const toRelay = from.connectionTo(relay.id) != null ? 0 : this.latency.handshakeRtts * this.rtt(from, relay)
      wait = toRelay + this.latency.relayedExtraRtts * (this.rtt(from, relay) + this.rtt(relay, to)) + this.latency.handshakeRtts * this.rtt(from, to)
    } else {
      wait = this.latency.handshakeRtts * this.rtt(from, to)
    }

    try {
      await this.work(m => m.connectionMs)
      await this.delay(wait, options)
    } catch (err) {
      this.dials.failed++
      throw err
    }

    const existing = from.connectionTo(id)

    if (existing != null) {
      // the other end dialed too, and got there first
      return existing
    }

    if (!from.online || !to.online) {
      this.dials.failed++
      throw new Error('dial failed: the peer left during the handshake')
    }

    if (to.connectionCount >= to.maxConnections) {
      this.dials.refused++
      throw new Error('dial failed: the peer refused the connection (maxConnections)')
    }

    const now = this.clock.now()
    const outbound: SimConnection = { local: from, remotePeer: to.peerId, remote: to, status: 'open', direction: 'outbound', timeline: { open: now }, streams: [] }
    const inbound: SimConnection = { local: to, remotePeer: from.peerId, remote: from, status: 'open', direction: 'inbound', timeline: { open: now }, streams: [], pair: outbound }
    outbound.pair = inbound
    this.dials.opened++
    from.attach(outbound)
    to.attach(inbound)
    this.learnSubscriptions(outbound)

    if (to.runsRelay) {
      this.reserve(from)
    }

    if (from.runsRelay) {
      this.reserve(to)
    }

    this.observer.changed(from)
    this.observer.changed(to)
    const before = from.connectionCount + to.connectionCount
    from.prune()
    to.prune()
    this.dials.pruned += Math.max(0, before - from.connectionCount - to.connectionCount)

    if (outbound.status === 'closed') {
      throw new Error('the connection was pruned as it opened')
    }

    return outbound
  }

  /** Each end's pubsub learns the other's subscriptions a few round trips after the connection opened */
  private learnSubscriptions (connection: SimConnection): void {
    const pair = connection.pair

    if (pair == null) {
      return
    }

    const a = connection.local
    const b = pair.local
    this.clock.setTimeout(() => {
      if (connection.status !== 'open') {
        return
      }

      if (a.pubsub.learn(b.peerId, b.id, b.topics)) {
        this.observer.changed(a)
      }

      if (b.pubsub.learn(a.peerId, a.id, a.topics)) {
        this.observer.changed(b)
      }
    }, this.latency.subscriptionRtts * this.rtt(a, b))
  }
}
