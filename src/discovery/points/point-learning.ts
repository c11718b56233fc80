/**
 * The points the node knows: the configured ones (the bootstrap list) and those learned from the lists points
 * keep of each other under `/libp2p/rendezvous` (`POINTS_NAMESPACE`; a point lists only the peer points it
 * admitted, server side).
 *
 * Trust: a list is read only from a trusted point: a configured one, or a learned point that a configured one
 * listed and that answered (depth 1). A learned point is used (given to the placement) only once it has answered
 * one request itself, the DISCOVER of its own list; one that fails `DROP_AFTER` times in a row is dropped, and at
 * most `maxPoints` learned points are kept. An attacker's points therefore reach a node only through a point the
 * node trusts that admitted them.
 *
 * The lists are read at the start, then at a delay that doubles from 1 s up to `pointListInterval` while the
 * network forms. A point of a network lists itself, so a list that answers empty says the point is on its own (a
 * standalone point, or another implementation's): while every list that answered was empty, the next reading
 * waits the whole `pointListInterval` (a node of one such point sends one request more per 5 minutes, not one per
 * doubling delay). A point that
 * failed is asked again on its backoff (point-health.ts) even when it has no other work, so that it takes its
 * namespaces back within `pointBackoff.max` of answering again. A point whose connection closed is asked at once
 * (at most once per `pointBackoff.max`): a point that was killed then fails within a dial, and its namespaces move
 * to the next by weight in seconds rather than at the next query or refresh (30 s and more once settled).
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { POINTS_NAMESPACE } from '../../constants.ts'
import { Timers } from '../timers.ts'
import { learnedPoint } from './point.ts'
import type { PointHealth, WorkState } from './point-health.ts'
import type { Point } from './point.ts'
import type { RendezvousClient } from '../../client/types.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { Logger, PeerId, PeerStore } from '@libp2p/interface'

export interface PointLearningComponents {
  client: Pick<RendezvousClient, 'discover'>
  peerStore: Pick<PeerStore, 'merge'>
  /** This node (a node that is also a point finds itself in the lists) */
  peerId: PeerId
}

export type PointLearningOptions = Pick<ResolvedOptions, 'learnPoints' | 'maxPoints' | 'pointListInterval' | 'discoverLimit' | 'pointBackoff'>

export interface PointLearningEvents {
  /** The points the node may use changed (one was verified or dropped) */
  change: CustomEvent
}

/** A known point, as `status()` reports it */
export interface KnownPointInfo {
  id: string
  /** `configured`: given in `points`; `learned`: from a trusted point's list */
  source: 'configured' | 'learned'
  /** Answered a request (configured points are used without) */
  verified: boolean
  /** The point it was learned from (learned points) */
  learnedFrom?: string
}

interface KnownPoint extends WorkState {
  point: Point
  source: 'configured' | 'learned'
  /** 0 for a configured point, 1 for one listed by a configured point, and so on */
  depth: number
  verified: boolean
  learnedFrom?: string
}

/** A learned point failing this many requests in a row is dropped */
export const DROP_AFTER = 3
/** The first delay between readings of the lists, in ms */
const FIRST_INTERVAL = 1000
/** Lists are read from points at most this far from a configured one */
const TRUST_DEPTH = 1

export class PointLearning extends TypedEventEmitter<PointLearningEvents> {
  private readonly components: PointLearningComponents
  private readonly health: PointHealth
  private readonly options: PointLearningOptions
  private readonly runtime: Runtime
  private readonly log: Logger
  private readonly timers: Timers
  private readonly known = new Map<string, KnownPoint>()
  private readonly configured: Point[]
  private interval = FIRST_INTERVAL
  /** Some answered list named a point (a network of points exists); lists that answered since the round began */
  private listed = false
  private answeredLists = 0
  private controller?: AbortController
  /** Point id -> when its closed connection was last probed (ms since epoch) */
  private readonly disconnectProbes = new Map<string, number>()
  /** Requests sent to learn or verify points since the start (the cost of learning) */
  requests = 0

  constructor (components: PointLearningComponents, configured: Point[], health: PointHealth, options: PointLearningOptions, runtime: Runtime, log: Logger) {
    super()
    this.components = components
    this.configured = configured
    this.health = health
    this.options = options
    this.runtime = runtime
    this.log = log
    this.timers = new Timers(runtime.clock, (key, err) => { this.log.error('%s failed - %e', key, err) })
    this.reset()
  }

  start (): void {
    if (this.controller != null) {
      return
    }

    this.controller = new AbortController()
    this.timers.open()
    this.health.addEventListener('failed', this.onFailed)
    this.interval = FIRST_INTERVAL
    this.listed = false

    if (this.options.learnPoints) {
      this.timers.set('round', 0, async () => this.round())
    }
  }

  stop (): void {
    this.controller?.abort()
    this.controller = undefined
    this.timers.clear()
    this.health.removeEventListener('failed', this.onFailed)
    this.disconnectProbes.clear()
    this.reset()
  }

  /** The connection to `peer` closed: if it is a point, ask it now whether it is still there */
  disconnected (peer: PeerId): void {
    const k = this.known.get(peer.toString())
    const now = this.runtime.clock.now()
    const last = this.disconnectProbes.get(peer.toString())

    if (k == null || this.controller == null || (last != null && now - last < this.options.pointBackoff.max)) {
      return
    }

    this.disconnectProbes.set(k.point.id, now)
    this.timers.setEarlier(`probe:${k.point.id}`, this.health.wait(k.point), async () => this.ask(k))
  }

  /** The points the node may place namespaces on: the configured ones, then the verified learned ones */
  usable (): Point[] {
    return [...this.known.values()].filter(k => k.verified).map(k => k.point)
  }

  /** The known point `id` */
  point (id: string): Point {
    const k = this.known.get(id)

    if (k == null) {
      throw new Error(`no known point ${id}`)
    }

    return k.point
  }

  status (): KnownPointInfo[] {
    return [...this.known.values()].map(k => ({ id: k.point.id, source: k.source, verified: k.verified, learnedFrom: k.learnedFrom }))
  }

  private reset (): void {
    this.known.clear()
    this.configured.forEach(point => this.known.set(point.id, { point, source: 'configured', depth: 0, verified: true, failures: 0 }))
  }

  /** Reads the list of every trusted point and verifies the learned points that are not yet */
  private async round (): Promise<void> {
    this.answeredLists = 0
    await Promise.all([...this.known.values()]
      .filter(k => this.health.wait(k.point) === 0 && (!k.verified || k.depth <= TRUST_DEPTH))
      .map(async k => this.ask(k)))

    if (this.controller != null) {
      const alone = this.answeredLists > 0 && !this.listed
      this.timers.set('round', alone ? this.options.pointListInterval : this.interval, async () => this.round())
      this.interval = Math.min(this.interval * 2, this.options.pointListInterval)
    }
  }

  /** A point failed: ask it again once its backoff is over, to see when it is back */
  private readonly onFailed = (evt: CustomEvent<Point>): void => {
    const k = this.known.get(evt.detail.id)

    if (k != null && this.controller != null) {
      this.timers.set(`probe:${k.point.id}`, this.health.wait(k.point), async () => this.ask(k))
    }
  }

  /** One DISCOVER of the point's list: an answer verifies the point, and a trusted point's list is learned */
  private async ask (k: KnownPoint): Promise<void> {
    const signal = this.controller?.signal

    if (signal == null || this.known.get(k.point.id) !== k) {
      return
    }

    this.requests++

    try {
      const result = await this.components.client.discover(k.point.multiaddr, POINTS_NAMESPACE, { limit: this.options.discoverLimit, cookie: null, signal })

      if (signal.aborted) {
        return
      }

      k.failures = 0
      this.health.succeeded(k.point)

      if (!k.verified) {
        k.verified = true
        this.log('learned point %s answered: using it', k.point.id)
        this.safeDispatchEvent('change')
      }

      if (this.options.learnPoints && k.depth <= TRUST_DEPTH) {
        this.answeredLists++
        this.listed ||= result.registrations.length > 0
        await this.learn(k, result.registrations)
      }
    } catch (err: any) {
      if (signal.aborted) {
        return
      }

      this.health.failed(k.point, k, err)

      if (k.source === 'learned' && k.failures >= DROP_AFTER) {
        this.log('learned point %s failed %d times in a row: dropped - %s', k.point.id, k.failures, k.lastError)
        this.known.delete(k.point.id)
        this.health.forget(k.point)
        this.timers.cancel(`probe:${k.point.id}`)

        if (k.verified) {
          this.safeDispatchEvent('change')
        }
      }
    }
  }

  /** Takes the points `from` lists (its own record too, and never this node), up to `maxPoints` learned */
  private async learn (from: KnownPoint, registrations: Array<{ peerId: PeerId, multiaddrs: Point['multiaddr'][] }>): Promise<void> {
    const fresh: KnownPoint[] = []

    for (const r of registrations) {
      const id = r.peerId.toString()

      if (this.known.has(id) || r.peerId.equals(this.components.peerId)) {
        continue
      }

      if (this.learnedCount() >= this.options.maxPoints) {
        this.log('the set of learned points is full (%d); %s is not learned', this.options.maxPoints, id)
        break
      }

      const k: KnownPoint = { point: learnedPoint(r.peerId), source: 'learned', depth: from.depth + 1, verified: false, learnedFrom: from.point.id, failures: 0 }
      this.known.set(id, k)
      fresh.push(k)

      try {
        // dialed by peer id: the addresses the point signed go where libp2p looks them up
        await this.components.peerStore.merge(r.peerId, { multiaddrs: r.multiaddrs })
      } catch (err: any) {
        this.log('could not store the addresses of point %s - %e', id, err)
      }
    }

    if (fresh.length > 0) {
      this.log('learned %d point(s) from %s', fresh.length, from.point.id)
      // verified now, rather than at the next reading
      await Promise.all(fresh.map(async k => this.ask(k)))
    }
  }

  private learnedCount (): number {
    return [...this.known.values()].filter(k => k.source === 'learned').length
  }
}
