/**
 * A point's part in a network of points: it announces itself at the points it knows and learns the others from
 * them, all under `/libp2p/rendezvous`, so that every point lists every point of the network and a node that asks
 * one point learns them all.
 *
 * The points it knows: its peer points (configured, never dropped), and the points it learns (at most
 * `maxLearnedPoints`, each admitted by this point's own rule) from three places: the lists of the points it knows
 * (DISCOVER of `/libp2p/rendezvous`, with cookies, so each asks only for what is new), the registrations under
 * `/libp2p/rendezvous` in its own store, and, at once, each REGISTER there that it admits. A point that joins a
 * network is therefore known by all within about two rounds: it registers at its peer point, which learns it at
 * that moment and registers back; it learns the others from its peer point's list and registers at each, and each
 * learns it as it does.
 *
 * Each known point is visited on a timer of its own: a REGISTER when its announcement there is due (at once, then
 * at half the TTL granted, and again when this point's addresses change or after the point failed), then a
 * DISCOVER when its query is due (every 1 s at first, doubling while nothing new comes, up to
 * `pointDiscoverInterval`; a full page asks again at once). A visit that fails backs that point off (1 s, 2 s, 4 s…
 * at most 5 min); a learned point that does not answer 3 times in a row is dropped, and so is its listing in this
 * point's store, so that nodes are not sent to a point that is gone. A point whose connection closes is asked
 * again within a second, which is how a point that stops or dies is noticed. On stop, the point UNREGISTERs at
 * every point it is announced at.
 *
 * This file holds the visits and their timing; the set of points known (learning, admission, room, drops) is
 * point-set.ts, and the reading of this point's own store is own-list-reader.ts. Talks to the other points through
 * this package's client; it never imports the discovery module (the design's one-way rule).
 */
import { debounce } from '@libp2p/utils'
import { DefaultRendezvousClient } from '../../client/rendezvous-client.ts'
import { MAX_DISCOVER_LIMIT, POINTS_NAMESPACE } from '../../constants.ts'
import { NoAddressesError, RendezvousError } from '../../errors.ts'
import { MAX_UNREACHABLE, FIRST_QUERY_INTERVAL, PROBE_AFTER_DISCONNECT } from './known-point.ts'
import { OwnListReader } from './own-list-reader.ts'
import { PointSet } from './point-set.ts'
import type { PointAdmission } from './admission.ts'
import type { KnownPoint } from './known-point.ts'
import type { PointMetrics } from './point-metrics.ts'
import type { DiscoveredRegistration } from '../../client/types.ts'
import type { VerifiedPeerRecord } from '../../protocol/peer-record.ts'
import type { ServerConfig } from '../config.ts'
import type { KnownPointStatus } from '../options.ts'
import type { RegistrationStore } from '../store/registration-store.ts'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, PeerStore, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { DebouncedFunction } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PeerPointsComponents {
  peerId: PeerId
  privateKey: PrivateKey
  addressManager: AddressManager
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  peerStore?: PeerStore
}

export interface PeerPointsInit {
  config: Pick<ServerConfig, 'peerPoints' | 'maxLearnedPoints' | 'pointDiscoverInterval' | 'timeout' | 'protocols'>
  store: RegistrationStore
  admission: PointAdmission
  /** Opens a record from this point's own store (the server's cache of checked records) */
  openRecord(envelope: Uint8Array): Promise<VerifiedPeerRecord>
  metrics: PointMetrics
}

/** How long stop() gives the UNREGISTERs at the other points, at most, in ms */
const MAX_UNREGISTER_TIME = 5000

/** Address updates come in bursts at start and on network changes: the announcements follow once they settle */
const ADDRESS_SETTLE_MS = 1000

export class PeerPoints {
  private readonly components: PeerPointsComponents
  private readonly init: PeerPointsInit
  private readonly log: Logger
  private readonly client: DefaultRendezvousClient
  private readonly self: string
  private readonly points: PointSet
  private readonly ownList: OwnListReader
  private readonly announceAll: DebouncedFunction
  private running = false
  private stopping = new AbortController()

  constructor (components: PeerPointsComponents, init: PeerPointsInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('libp2p:rendezvous:server:points')
    this.self = components.peerId.toString()
    // the client's own metrics stay off: a node that also runs the discovery module registers the same names
    this.client = new DefaultRendezvousClient({
      peerId: components.peerId,
      privateKey: components.privateKey,
      addressManager: components.addressManager,
      connectionManager: components.connectionManager,
      logger: components.logger,
      peerStore: components.peerStore
    }, { timeout: init.config.timeout, protocol: init.config.protocols[0] })
    this.announceAll = debounce(() => { this.onAddressesSettled() }, ADDRESS_SETTLE_MS)
    this.onAddressesChanged = this.onAddressesChanged.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
    this.points = new PointSet({ self: this.self, peerPoints: init.config.peerPoints, maxLearnedPoints: init.config.maxLearnedPoints, store: init.store, admission: init.admission, log: this.log })
    this.ownList = new OwnListReader({
      self: this.self,
      store: init.store,
      interval: init.config.pointDiscoverInterval,
      openRecord: init.openRecord,
      learn: (record, listedUntil) => { this.learn(record.peerId, record.multiaddrs, listedUntil, record.seqNumber) },
      log: this.log
    })
  }

  /** Announces at every peer point and starts learning; returns at once (the network is asked in the background) */
  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.stopping = new AbortController()
    this.components.events.addEventListener('self:peer:update', this.onAddressesChanged)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)

    for (const point of this.points.values()) {
      this.schedule(point, 0)
    }

    this.ownList.start()
    this.log('joining a network of points through %d peer points', this.points.size)
  }

  /** Stops every visit, then UNREGISTERs at every point it is announced at (bounded in time) */
  async stop (): Promise<void> {
    if (!this.running) {
      return
    }

    this.running = false
    this.components.events.removeEventListener('self:peer:update', this.onAddressesChanged)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.announceAll.stop()
    this.stopping.abort(new Error('the rendezvous server is stopping'))
    const points = [...this.points.values()]

    for (const point of points) {
      clearTimeout(point.timer)
    }

    await Promise.allSettled([...points.map(async point => point.visiting), this.ownList.stop()])

    const now = Date.now()
    const signal = AbortSignal.timeout(Math.min(this.init.config.timeout, MAX_UNREGISTER_TIME))
    await Promise.allSettled(points.filter(point => point.announcedUntil > now).map(async point => {
      try {
        await this.client.unregister(point.multiaddrs, POINTS_NAMESPACE, { signal })
        point.announcedUntil = 0
      } catch (err) {
        this.log('could not unregister at %s - %e', point.id, err)
      }
    }))
    await this.client.stop()
  }

  /** Every point known, peer points first */
  known (): KnownPointStatus[] {
    return this.points.known()
  }

  /** How many points are known, of each source */
  counts (): { peer: number, learned: number } {
    return this.points.counts()
  }

  /**
   * An admitted REGISTER under `/libp2p/rendezvous` was stored here: the registrant is a point, alive now. It is
   * learned at once (or its failures forgotten), and announced at when it is not yet.
   */
  registered (record: VerifiedPeerRecord, listedUntil: number): void {
    if (!this.running) {
      return
    }

    const point = this.learn(record.peerId, record.multiaddrs, listedUntil, record.seqNumber, true)

    if (point != null) {
      point.unreachable = 0

      if (point.announcedUntil <= Date.now() && point.refused == null) {
        point.announceAt = 0
        this.schedule(point, 0)
      }
    }
  }

  /** A point seen in a list (see PointSet.learn); a point new to the set is visited at once */
  private learn (peerId: PeerId, multiaddrs: Multiaddr[], listedUntil: number, seq: bigint, alive = false): KnownPoint | undefined {
    const isNew = this.points.get(peerId.toString()) == null
    const point = this.points.learn(peerId, multiaddrs, listedUntil, seq, alive)

    if (point != null && isNew) {
      this.schedule(point, 0)
    }

    return point
  }

  /** A learned point that stopped answering, or whose listings ran out: its visits end, its cookies go */
  private drop (point: KnownPoint, why: string): void {
    clearTimeout(point.timer)
    this.points.drop(point, why)
    this.client.resetCookies(point.peerId)
  }

  /** The next visit of `point` in `delay` ms, unless one is already due sooner */
  private schedule (point: KnownPoint, delay: number): void {
    if (!this.running) {
      return
    }

    const at = Date.now() + delay

    if (point.timer != null && point.timerAt <= at) {
      return
    }

    clearTimeout(point.timer)
    point.timerAt = at
    // a timer per point rather than @libp2p/utils' RepeatingTask: its interval, changed from inside the task, arms two timers
    point.timer = setTimeout(() => {
      point.timer = undefined
      point.timerAt = Infinity
      this.visit(point)
    }, Math.max(0, delay))
    point.timer.unref?.()
  }

  /** Runs a visit unless one is running (which schedules the next one itself) */
  private visit (point: KnownPoint): void {
    if (point.visiting != null || !this.running) {
      return
    }

    point.visiting = this.visitNow(point).finally(() => { point.visiting = undefined })
  }

  private async visitNow (point: KnownPoint): Promise<void> {
    const signal = this.stopping.signal

    if (point.source === 'learned' && point.listedUntil > 0 && point.listedUntil <= Date.now()) {
      this.drop(point, 'its registrations ran out')
      return
    }

    try {
      if (point.failures > 0) {
        // it may have dropped this point's listing while it could not be reached
        point.announceAt = 0
      }

      if (point.announceAt <= Date.now()) {
        await this.announce(point, signal)
      }

      if (point.queryAt <= Date.now()) {
        await this.query(point, signal)
      }

      point.failures = 0
      point.unreachable = 0
    } catch (err: any) {
      if (!this.running) {
        return
      }

      point.failures++

      if (!(err instanceof RendezvousError)) {
        point.unreachable++
      }

      this.log('visit of %s failed (%d in a row) - %e', point.id, point.failures, err)

      if (point.unreachable >= MAX_UNREACHABLE) {
        if (point.source === 'learned') {
          this.drop(point, `it did not answer ${point.unreachable} times in a row`)
          return
        }

        if (point.unreachable === MAX_UNREACHABLE) {
          // a peer point is kept and retried, but nodes are not sent to it meanwhile
          this.points.unlist(point)
        }
      }

      this.schedule(point, point.backoff())
      return
    }

    this.schedule(point, Math.min(point.announceAt, point.queryAt) - Date.now())
  }

  /**
   * REGISTERs this point's record there. A refusal that will not change (the other does not admit this point) is
   * retried at the settled query pace; a point in trouble (3xx, 4xx) is backed off as a failure.
   */
  private async announce (point: KnownPoint, signal: AbortSignal): Promise<void> {
    try {
      const ttl = await this.client.register(point.multiaddrs, POINTS_NAMESPACE, { signal })
      const now = Date.now()
      point.announcedUntil = now + ttl * 1000
      point.announceAt = now + ttl * 500

      if (point.refused != null) {
        this.log('%s admits this point now', point.id)
        point.refused = undefined
      }

      this.init.metrics.announcement('ok')
    } catch (err: any) {
      if (err instanceof NoAddressesError) {
        // nothing to announce yet: the first address update announces everywhere
        point.announceAt = Date.now() + this.init.config.pointDiscoverInterval
        return
      }

      if (err instanceof RendezvousError && !err.retryable) {
        if (point.refused == null) {
          this.log('%s refused this point\'s announcement - %s', point.id, err.message)
        }

        point.refused = err.message
        point.announcedUntil = 0
        point.announceAt = Date.now() + this.init.config.pointDiscoverInterval
        this.init.metrics.announcement('refused')
        return
      }

      this.init.metrics.announcement(err instanceof RendezvousError ? 'refused' : 'failed')
      throw err
    }
  }

  /** One page of what the point lists under `/libp2p/rendezvous` that is new since the last (the client keeps the cookie) */
  private async query (point: KnownPoint, signal: AbortSignal): Promise<void> {
    let registrations: DiscoveredRegistration[]

    try {
      ({ registrations } = await this.client.discover(point.multiaddrs, POINTS_NAMESPACE, { signal, limit: MAX_DISCOVER_LIMIT }))
      this.init.metrics.query('ok')
    } catch (err) {
      this.init.metrics.query('failed')
      throw err
    }

    const now = Date.now()
    let learned = 0

    for (const registration of registrations) {
      const before = this.points.size
      this.learn(registration.peerId, registration.multiaddrs, now + registration.ttl * 1000, registration.seqNumber)
      learned += this.points.size - before
    }

    if (registrations.length >= MAX_DISCOVER_LIMIT) {
      // more pages follow: go on at once
      point.queryInterval = FIRST_QUERY_INTERVAL
      point.queryAt = now
    } else {
      point.queryInterval = learned > 0 ? FIRST_QUERY_INTERVAL : Math.min(point.queryInterval * 2, this.init.config.pointDiscoverInterval)
      point.queryAt = now + point.queryInterval
    }
  }

  private onAddressesChanged (): void {
    this.announceAll()
  }

  /** Every known point gets this point's new record */
  private onAddressesSettled (): void {
    for (const point of this.points.values()) {
      if (point.refused == null) {
        point.announceAt = 0
        this.schedule(point, 0)
      }
    }
  }

  /** A known point's connection closed: ask it soon whether it is still there, and announce there again */
  private onDisconnect (evt: CustomEvent<PeerId>): void {
    const point = this.points.get(evt.detail.toString())

    if (point != null) {
      // a point that restarted on a memory store lost this point's registration with everything else
      point.announceAt = 0
      point.queryAt = 0
      this.schedule(point, PROBE_AFTER_DISCONNECT)
    }
  }
}
