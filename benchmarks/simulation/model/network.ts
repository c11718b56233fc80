/**
 * The network between simulated nodes and points: round trips from each end's delay to the core, dials that take
 * a handshake (through a relay for a node that cannot be dialed directly), connection limits at the dialed end,
 * dials of peers that are gone (refused after a round trip, or left to time out), relay reservations, and the
 * subscriptions pubsub learns a few round trips after a connection opens.
 *
 * Simplifications, each small next to what is measured: a relayed dial leaves no connection to the relay behind;
 * points accept every connection and never fail; relay reservations do not expire while their connection lasts.
 *
 * With a process model (the validation against a real multi-process run), connections and requests also cost CPU
 * in the processes of both ends, in turns: each message of an exchange is handled by the receiving end's event
 * loop, behind whatever that process has queued (model/machine.ts), and the network's own delay lies between two
 * turns. See `ProcessRun`.
 */
import { circuitAddress } from './node.ts'
import type { ClientNetwork } from './client.ts'
import type { TrustedRecords } from './identities.ts'
import type { Machine, SimProcess } from './machine.ts'
import type { Endpoint, NodeNetwork, SimConnection, SimNode } from './node.ts'
import type { SimPoint } from './point.ts'
import type { LatencyModel, ProcessCosts } from './scenario.ts'
import type { RendezvousPoint } from '../../../src/client/types.ts'
import type { Random } from '../engine/random.ts'
import type { VirtualClock } from '../engine/virtual-clock.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the network reports to whoever measures */
export interface NetworkObserver {
  /** Something that may change a node's quotas happened (a connection, a subscription learned, a reservation) */
  changed(node: SimNode): void
}

/**
 * The CPU side of a run with a process model: the machine, the point's process, and what each piece of work costs.
 * Nodes carry their own process (`SimNode.process`).
 *
 * A connection between two nodes is handled in turns, as its messages go back and forth: TCP and the noise XX
 * handshake with the muxer's negotiation take four (dialer, dialed, dialer, dialed: noise's three messages, the
 * last one answered by the muxer's selection), after which both ends have the connection; then identify and
 * gossipsub's streams take three more (the dialer's identify answer and its gossipsub hello; the dialed end's, on
 * which it learns the dialer's topics; the dialer reading it, on which it learns the dialed end's). Each end's
 * measured CPU is spread evenly over its turns, and half a round trip lies between two turns. A connection to the
 * point takes the handshake's four turns, and a request two (the sender's, the point's) plus the sender's reading of
 * the answer, whose cost grows with the records it checks.
 */
export interface ProcessRun {
  machine: Machine
  point: SimProcess
  costs: ProcessCosts
}

/**
 * Inbound connections a libp2p node lets be in their handshake at once (connection manager's
 * `maxIncomingPendingConnections`, default 10 in libp2p 3: `MAX_INCOMING_PENDING_CONNECTIONS` in its
 * connection-manager/constants.defaults.js); the node groups and `rendezvous-server` keep the default
 */
export const MAX_INCOMING_PENDING_CONNECTIONS = 10

/** Which end handles each turn of a connection between two nodes after the handshake (see `ProcessRun`) */
const SUBSCRIPTION_TURNS = ['dialer', 'dialed', 'dialer'] as const
const DIALER_TURNS = 4
const DIALED_TURNS = 3

export interface DialCounters {
  /** Dials of peers started (a dial joining one in flight is not counted) */
  started: number
  /** Of those, dials of peers that were gone */
  gone: number
  /** Dials refused by the dialed node (at maxConnections) */
  refused: number
  /** Dials (of peers and of points) closed by the dialed end at its maxIncomingPendingConnections (process model) */
  refusedPending: number
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

/** A dial the dialed end closed at once: it had `MAX_INCOMING_PENDING_CONNECTIONS` handshakes under way */
class PendingLimitError extends Error {
  constructor () {
    super('dial failed: the peer closed the connection (libp2p\'s maxIncomingPendingConnections)')
  }
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
  readonly dials: DialCounters = { started: 0, gone: 0, refused: 0, refusedPending: 0, unreachable: 0, failed: 0, opened: 0, points: 0, pruned: 0, reservationsRefused: 0 }
  readonly requestRtts: number
  /** The CPU of a run with a process model */
  readonly processes?: ProcessRun
  private readonly clock: VirtualClock
  private readonly random: Random
  private readonly relayMaxReservations: number
  private readonly observer: NetworkObserver
  private readonly pointsByAddress = new Map<string, SimPoint>()
  private readonly pointDials = new Map<string, Promise<void>>()
  /** Inbound connections in their handshake, per dialed node or point (runs with a process model) */
  private readonly pendingInbound = new Map<object, number>()
  /** Relays that refused a node's reservation, by node id: not asked again while the connection lasts */
  private readonly refusedBy = new Map<string, Set<string>>()
  /** Mean one-way delay of a node, for dials of peers that are gone (whose delay nobody knows) */
  private readonly meanAccessDelay: number
  /** Online nodes that run a relay, for the light browsers' reservations (and their places in it) */
  private readonly relayList: SimNode[] = []
  private readonly relayIndex = new Map<string, number>()

  constructor (init: { clock: VirtualClock, random: Random, latency: LatencyModel, points: SimPoint[], trusted: TrustedRecords, relayMaxReservations: number, processes?: ProcessRun, observer: NetworkObserver }) {
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

    this.processes = init.processes
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

  /** CPU time the processes did, ms (runs with a process model) */
  get cpuUsed (): number {
    return this.processes?.machine.used ?? 0
  }

  /**
   * The four turns of a connection's handshake on the processes of its two ends (see `ProcessRun`), `gap` ms apart.
   * The dialed end first decides whether to take the connection at all, as libp2p's connection manager does when
   * the socket is accepted: with `MAX_INCOMING_PENDING_CONNECTIONS` inbound connections of its own still in their
   * handshake, it closes the new one (the dialer sees it on its next turn, and the dial fails); a connection counts
   * as pending from then until the dialed end's last turn.
   */
  private async handshake (kind: string, dialer: SimProcess | undefined, dialed: { process?: SimProcess, key: object }, costs: { dialerMs: number, dialedMs: number }, gap: number, options: AbortOptions): Promise<void> {
    await dialer?.run(costs.dialerMs, kind)
    await this.delay(gap, options)
    await dialed.process?.run(0, kind)
    const pending = this.pendingInbound.get(dialed.key) ?? 0

    if (pending >= MAX_INCOMING_PENDING_CONNECTIONS) {
      this.dials.refusedPending++
      await this.delay(gap, options)
      await dialer?.run(0, kind)
      throw new PendingLimitError()
    }

    this.pendingInbound.set(dialed.key, pending + 1)

    try {
      await dialed.process?.run(costs.dialedMs, kind)
      options.signal?.throwIfAborted()
      await this.delay(gap, options)
      await dialer?.run(costs.dialerMs, kind)
      options.signal?.throwIfAborted()
      await this.delay(gap, options)
      await dialed.process?.run(costs.dialedMs, kind)
    } finally {
      this.pendingInbound.set(dialed.key, (this.pendingInbound.get(dialed.key) ?? 1) - 1)
    }

    options.signal?.throwIfAborted()
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
        const run = this.processes

        if (run == null) {
          await this.delay(this.latency.handshakeRtts * this.rtt(node, point))
        } else {
          // the handshake's four turns, the point's two on the point's process, the measured delay between them
          const { dialerMs, pointMs } = run.costs.pointConnection
          // shared by every request waiting for it: no one request's signal ends it
          await this.handshake('point connection', node.process, { process: run.point, key: point }, { dialerMs: dialerMs / 2, dialedMs: pointMs / 2 }, run.costs.latency.pointConnectMs / 3, {})
        }

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
      if (this.processes == null) {
        await this.delay(wait, options)
      } else {
        const { dialerMs, listenerMs } = this.processes.costs.connection
        const costs = { dialerMs: dialerMs / DIALER_TURNS, dialedMs: listenerMs / DIALED_TURNS }
        await this.handshake('connection', from.process, { process: to.process, key: to }, costs, this.processes.costs.latency.nodeRttMs / 2, options)
      }
    } catch (err) {
      if (!(err instanceof PendingLimitError)) {
        this.dials.failed++
      }

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

    if (this.processes != null) {
      void this.subscriptionTurns(this.processes, connection, a, b)
      return
    }

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

  /**
   * Identify and gossipsub's turns after a handshake: the dialed end learns the dialer's topics on its turn, the
   * dialer the dialed end's on the last (see `ProcessRun`)
   */
  private async subscriptionTurns (run: ProcessRun, connection: SimConnection, a: SimNode, b: SimNode): Promise<void> {
    const { dialerMs, listenerMs } = run.costs.connection
    const oneWay = run.costs.latency.nodeRttMs / 2

    for (const [i, end] of SUBSCRIPTION_TURNS.entries()) {
      await this.delay(oneWay)
      const node = end === 'dialer' ? a : b
      await node.process?.run(end === 'dialer' ? dialerMs / DIALER_TURNS : listenerMs / DIALED_TURNS, 'connection')

      if (connection.status !== 'open') {
        return
      }

      // the dialed end learns the dialer's topics on its turn, the dialer the dialed end's on its last one
      const learns = end === 'dialed' || i === SUBSCRIPTION_TURNS.length - 1
      const other = node === a ? b : a

      if (learns && node.pubsub.learn(other.peerId, other.id, other.topics)) {
        this.observer.changed(node)
      }
    }
  }
}
