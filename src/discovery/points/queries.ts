/**
 * The node's discovery queries: for each (point, namespace) a DISCOVER at once, then with the cookie of the
 * previous answer (only what is new), on the schedule of query-schedule.ts, which follows the quota (read from
 * `Demand`, which the quotas write; `unmet` pulls the next query forward).
 *
 * The cookies belong to these queries: they start empty with the namespace and go with it, and with a stop, so
 * no query ever continues from where another discovery (a `discover()` call, a previous start) left off.
 *
 * Each answer goes to the intake (`PageSink`) in one call together with whether more pages follow at once, so
 * that whoever dials from it knows before dialing that it holds only part of the list.
 */
import { PeerMap, PeerSet } from '@libp2p/peer-collections'
import { RendezvousError } from '../../errors.ts'
import { Message } from '../../pb/rendezvous.ts'
import { isNewerRecord } from '../peers/peer-intake.ts'
import { PointWork } from './point-work.ts'
import { SETTLE_QUIET, initialDelays, isFullPage, nextQueryDelay, quotaUnmetDelay, settleCheckDelay } from './query-schedule.ts'
import type { PointHealth, WorkState } from './point-health.ts'
import type { PointPlacement } from './point-placement.ts'
import type { Point } from './point.ts'
import type { QueryDelays, QueryScheduleOptions } from './query-schedule.ts'
import type { DiscoverResult, DiscoveredRegistration, RendezvousClient } from '../../client/types.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { Demand } from '../demand.ts'
import type { PageSink } from '../peers/peer-intake.ts'
import type { ComponentLogger } from '@libp2p/interface'

export interface QueriesComponents {
  client: Pick<RendezvousClient, 'discover'>
  logger: ComponentLogger
}

export type QueriesOptions = Pick<ResolvedOptions, 'discoverLimit'> & QueryScheduleOptions

/** The units the queries read from and hand to */
export interface QueriesUnits {
  /** How many more peers each namespace wants, and when a quota turns unmet (written by the quotas) */
  demand: Demand
  /** Where each page goes */
  intake: PageSink
  /** Counts each finished request */
  metrics?: { request(kind: 'discover', outcome: 'ok' | 'error'): void }
}

export interface DiscoveryStatus {
  ns: string
  point: string
  interval: number
  queries: number
  received: number
  nextQueryAt?: number
  failures: number
  lastError?: string
}

interface Query extends WorkState, QueryDelays {
  key: string
  ns: string
  point: Point
  /** The cookie of the last answer: the next query asks only for what came after */
  cookie?: Uint8Array
  /** At a fallback point (a configured one not placed for the namespace): queried only while the quota is unmet */
  fallback: boolean
  /** When the namespace appeared (ms since epoch) */
  since: number
  queries: number
  /** Registrations received in all */
  received: number
  running: boolean
  /** The last page handed over said that more follow */
  paging: boolean
  /** Records (peer -> sequence number) received in the walk of pages under way, or that ended on a full page */
  walk?: PeerMap<bigint>
  /** The registrants seen so far, while the namespace is young */
  known?: PeerSet
  /** When an answer last brought a registrant not seen before (ms since epoch) */
  grewAt?: number
}

/** Most records remembered per walk of pages */
const MAX_WALK = 100_000

export class Queries extends PointWork {
  private readonly components: QueriesComponents
  private readonly options: QueriesOptions
  private readonly units: QueriesUnits
  private readonly entries = new Map<string, Query>()
  /** The namespaces the node discovers */
  private wanted = new Set<string>()

  constructor (components: QueriesComponents, points: PointHealth, placement: PointPlacement, options: QueriesOptions, runtime: Runtime, units: QueriesUnits) {
    super(points, placement, runtime, components.logger.forComponent('libp2p:rendezvous:discovery:queries'))
    this.components = components
    this.options = options
    this.units = units
  }

  start (): void {
    if (!this.running) {
      this.units.demand.addEventListener('unmet', this.onUnmet)
    }

    super.start()
  }

  /** Stops every timer and query; the cookies go with them */
  stop (): void {
    if (this.halt()) {
      this.units.demand.removeEventListener('unmet', this.onUnmet)
      this.entries.clear()
      this.wanted = new Set()
    }
  }

  private readonly onUnmet = (evt: CustomEvent<string>): void => {
    this.quotaUnmet(evt.detail)
  }

  /** The namespaces now discovered: queries what is new at once, forgets what was dropped (and its cookies) */
  setNamespaces (namespaces: Iterable<string>): void {
    if (!this.running) {
      return
    }

    this.wanted = new Set(namespaces)
    this.placementChanged()
  }

  /**
   * Keeps one query per namespace discovered at each of its points (those placed, and the fallback ones): queries
   * a new pair at once, forgets (with its cookie) a pair no longer placed
   */
  placementChanged (): void {
    if (!this.running) {
      return
    }

    const placed = this.placedPairs(this.wanted)

    for (const q of [...this.entries.values()]) {
      if (placed.get(q.key)?.fallback !== q.fallback) {
        this.entries.delete(q.key)
        this.timers.cancel(q.key)
      }
    }

    const now = this.runtime.clock.now()

    for (const [key, { point, ns, fallback }] of placed) {
      if (!this.entries.has(key)) {
        const q: Query = {
          key,
          ns,
          point,
          fallback,
          since: now,
          ...initialDelays(this.options),
          queries: 0,
          received: 0,
          failures: 0,
          running: false,
          paging: false
        }
        this.entries.set(key, q)
        this.schedule(q, 0)
      }
    }
  }

  /**
   * A namespace's quota went from met to unmet (a kept peer or relay left): query it again at every point right
   * away, then on the short schedule. Demand reports only the transition, so this cannot turn into a loop; the
   * jitter spreads the queries of the many nodes that lose the same relay at the same moment.
   */
  quotaUnmet (ns: string): void {
    for (const q of this.entries.values()) {
      if (q.ns === ns && !q.running) {
        q.interval = this.options.discoverInterval
        q.fast = this.options.fastDiscoverInterval
        this.timers.setEarlier(q.key, quotaUnmetDelay(this.runtime.random), async () => this.run(q))
      }
    }
  }

  /**
   * A point is back: queries waiting for it run now. The others keep their schedule: a point that comes back
   * (a reconnect, an answer after a failure) must not bring every namespace's query at once
   */
  pointBack (point: Point): void {
    for (const q of this.entries.values()) {
      if (q.point.id === point.id && !q.running && q.waitsForPoint === true) {
        this.timers.setEarlier(q.key, 0, async () => this.run(q))
      }
    }
  }

  status (): DiscoveryStatus[] {
    return [...this.entries.values()].map(q => ({
      ns: q.ns,
      point: q.point.id,
      interval: q.interval,
      queries: q.queries,
      received: q.received,
      nextQueryAt: this.timers.due(q.key),
      failures: q.failures,
      lastError: q.lastError
    }))
  }

  private isActive (q: Query): boolean {
    return this.running && this.entries.get(q.key) === q
  }

  private schedule (q: Query, delay: number): void {
    this.timers.set(q.key, delay, async () => this.run(q))
  }

  private async run (q: Query): Promise<void> {
    const signal = this.controller?.signal

    if (signal == null || !this.isActive(q) || q.running) {
      return
    }

    this.timers.cancel(q.key)

    if (q.fallback && !this.fallbackDue(q)) {
      // looked at again on the namespace's schedule, or at once when its quota turns unmet
      this.schedule(q, q.interval)
      return
    }

    const wait = this.points.wait(q.point)

    if (wait > 0) {
      q.waitsForPoint = true
      this.schedule(q, wait)
      return
    }

    q.running = true

    try {
      let result: DiscoverResult

      try {
        result = await this.components.client.discover(q.point.multiaddr, q.ns, { limit: this.options.discoverLimit, cookie: q.cookie ?? null, signal })
      } catch (err) {
        if (!signal.aborted && this.isActive(q)) {
          await this.failed(q, err)
        }

        return
      }

      this.units.metrics?.request('discover', 'ok')
      this.points.succeeded(q.point)

      if (this.isActive(q)) {
        await this.answered(q, result)
      }
    } finally {
      q.running = false
    }
  }

  /** Hands the page over, with whether the next follows at once, and schedules the next query */
  private async answered (q: Query, result: DiscoverResult): Promise<void> {
    q.queries++
    q.failures = 0
    q.lastError = undefined
    q.waitsForPoint = false
    q.received += result.registrations.length

    if (result.cookie != null) {
      q.cookie = result.cookie
    }

    const full = isFullPage(result, this.options.discoverLimit)
    const more = full && this.newToWalk(q, result.registrations)

    // a walk ends with a short page; one that ended on a full page of nothing new is remembered, so that a
    // point repeating itself is not walked again at the next query
    if (!full) {
      q.walk = undefined
    }

    q.paging = more
    const filling = this.stillFilling(q, result.registrations)
    const added = await this.units.intake.take({ ns: q.ns, point: q.point, registrations: result.registrations, more, filling })

    if (!this.isActive(q)) {
      return
    }

    const now = this.runtime.clock.now()
    let delay = 0

    if (!more) {
      const next = nextQueryDelay(q, { added, deficit: this.units.demand.deficit(q.ns), age: now - q.since }, this.options, this.runtime.random)
      Object.assign(q, next.next)
      delay = next.delay
    }

    if (filling && q.grewAt != null) {
      delay = settleCheckDelay(delay, q.grewAt, now)
    }

    this.schedule(q, delay)

    if (!q.fallback && !more) {
      this.wakeFallback(q.ns)
    }
  }

  /**
   * A query at a fallback point goes only while the namespace's quota is unmet after every placed point answered
   * (or failed) at least once: the placed points serve it, the configured ones are where a peer that knows only them
   * (a Go or Rust node) registered
   */
  private fallbackDue (q: Query): boolean {
    if (this.units.demand.deficit(q.ns) <= 0) {
      return false
    }

    return [...this.entries.values()].every(other => other.fallback || other.ns !== q.ns || other.queries > 0 || other.failures > 0)
  }

  /** The first answers of the placed points left the quota unmet: the fallback points are asked now, once */
  private wakeFallback (ns: string): void {
    for (const q of this.entries.values()) {
      if (q.fallback && q.ns === ns && q.queries === 0 && !q.running && this.fallbackDue(q)) {
        this.timers.setEarlier(q.key, 0, async () => this.run(q))
      }
    }
  }

  private async failed (q: Query, err: unknown): Promise<void> {
    this.units.metrics?.request('discover', 'error')

    if (err instanceof RendezvousError && err.status === Message.ResponseStatus.E_INVALID_COOKIE) {
      q.cookie = undefined
      q.walk = undefined
    }

    if (q.paging) {
      // a walk of pages ends here: whoever waits for its last page must not wait longer
      q.paging = false
      await this.units.intake.take({ ns: q.ns, point: q.point, registrations: [], more: false, filling: false })
    }

    const delay = this.points.failed(q.point, q, err)
    this.log('discovering "%s" at %s failed, again in %d ms - %s', q.ns, q.point.id, Math.round(delay), q.lastError)
    this.schedule(q, delay)
  }

  /**
   * Whether a young namespace's registrants are still arriving: this answer or one within `SETTLE_QUIET` brought
   * one not seen before. The registrants seen are remembered while the namespace is young
   */
  private stillFilling (q: Query, registrations: DiscoveredRegistration[]): boolean {
    const now = this.runtime.clock.now()

    if (now - q.since >= this.options.fastDiscoverWindow) {
      q.known = undefined
      return false
    }

    const known = q.known ?? new PeerSet()
    q.known = known

    for (const r of registrations) {
      if (!known.has(r.peerId)) {
        known.add(r.peerId)
        q.grewAt = now
      }
    }

    return q.grewAt != null && now - q.grewAt < SETTLE_QUIET
  }

  /** Whether a page holds a record this walk of pages has not seen yet; remembers the page's records */
  private newToWalk (q: Query, registrations: DiscoveredRegistration[]): boolean {
    const walk = q.walk != null && q.walk.size < MAX_WALK ? q.walk : new PeerMap<bigint>()
    q.walk = walk
    let news = false

    for (const r of registrations) {
      if (isNewerRecord(r.seqNumber, walk.get(r.peerId))) {
        walk.set(r.peerId, r.seqNumber)
        news = true
      }
    }

    return news
  }
}
