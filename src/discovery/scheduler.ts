/**
 * The scheduler: when to talk to which rendezvous point about which namespace.
 *
 * - Registrations: each (point, namespace) registers at once, is refreshed before its granted TTL runs out (with
 * jitter), registers again at once when the node's addresses change or the point comes back after being down,
 * and is unregistered when the namespace is dropped or the module stops.
 * - Discovery: each (point, namespace) queries at once, then with cookies every `discoverInterval` while the
 * quota is unmet, doubling the delay up to `maxDiscoverInterval` while nothing new arrives, and every
 * `satisfiedDiscoverInterval` once the quota is met. A quota that becomes unmet pulls the next query forward.
 * - Points: each has its own backoff (exponential with jitter); work at a point in backoff waits for the point,
 * and never holds up work at other points.
 *
 * Every timer lives in one {@link Timers}, and every request gets the signal of the AbortController made in
 * `start()`, so `stop()` leaves nothing running.
 */
import { CODE_P2P } from '@multiformats/multiaddr'
import { peerIdOfMultiaddr } from '../client/point.ts'
import { InvalidNamespaceError, NoAddressesError, RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { backoffDelay, jitter } from './backoff.ts'
import { Timers } from './timers.ts'
import type { NamespaceSpec, ResolvedOptions } from './options.ts'
import type { DiscoveredRegistration, DiscoverResult, RendezvousClient } from '../client/types.ts'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface SchedulerComponents {
  addressManager: AddressManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** Delay of the query that follows a quota becoming unmet, in ms (±50%) */
const QUOTA_UNMET_QUERY_DELAY = 200

export type SchedulerOptions = Pick<ResolvedOptions, 'ttl' | 'refreshMargin' | 'discoverInterval' | 'maxDiscoverInterval' | 'satisfiedDiscoverInterval' | 'discoverLimit' | 'pointBackoff' | 'stopTimeout'>

export interface SchedulerHooks {
  /** How many more peers a namespace wants (<= 0: its quota is met) */
  deficit(ns: string): number
  /** Verified registrations from a query; resolves to how many peers were new to the namespace */
  onRegistrations(ns: string, registrations: DiscoveredRegistration[]): Promise<number>
  /**
   * A point returned a full page for `ns` and the next page is being fetched (`true`), or the last page came
   * (`false`): dialing from a partial view would send everyone to the peers listed first
   */
  onPaging?(ns: string, paging: boolean): void
  /** A rendezvous point answered after having failed or been disconnected */
  onPointUp?(point: RendezvousPointState): void
  /** Each finished request, for metrics */
  onRequest?(kind: 'register' | 'unregister' | 'discover', outcome: 'ok' | 'error'): void
}

/** What the scheduler knows of one rendezvous point */
export interface RendezvousPointState {
  /** The point's peer id as a string */
  id: string
  peerId: PeerId
  multiaddr: Multiaddr
  /** Failures since the last success */
  failures: number
  /** No request goes to the point before this time (ms since epoch; 0 = now) */
  backoffUntil: number
  /** The last request failed, or the connection to it closed, and nothing has succeeded since */
  down: boolean
  lastError?: string
  /** Last success (ms since epoch) */
  lastSuccessAt?: number
}

interface Registration {
  ns: string
  point: RendezvousPointState
  /** TTL granted by the point, in seconds, once registered */
  ttl?: number
  registeredAt?: number
  /** The addresses registered, as a key, to notice changes */
  addressKey?: string
  failures: number
  lastError?: string
  current?: Promise<void>
  again: boolean
}

interface Discovery {
  ns: string
  point: RendezvousPointState
  interval: number
  queries: number
  /** Registrations received in all */
  received: number
  failures: number
  lastError?: string
  running: boolean
}

export interface RegistrationStatus {
  ns: string
  point: string
  registered: boolean
  ttl?: number
  registeredAt?: number
  nextAttemptAt?: number
  failures: number
  lastError?: string
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

export interface SchedulerStatus {
  points: Array<Omit<RendezvousPointState, 'peerId' | 'multiaddr'> & { multiaddr: string }>
  registrations: RegistrationStatus[]
  discoveries: DiscoveryStatus[]
}

/** Parses the configured points; throws a clear error for an address without `/p2p/<id>` */
export function parsePoints (points: Multiaddr[]): RendezvousPointState[] {
  const byId = new Map<string, RendezvousPointState>()

  for (const ma of points) {
    const peerId = peerIdOfMultiaddr(ma)

    if (peerId == null) {
      throw new TypeError(`rendezvousDiscovery: the rendezvous point ${ma.toString()} does not end with /p2p/<peer id>`)
    }

    const id = peerId.toString()

    if (!byId.has(id)) {
      byId.set(id, { id, peerId, multiaddr: ma, failures: 0, backoffUntil: 0, down: false })
    }
  }

  return [...byId.values()]
}

/** The node's addresses as one comparable string (without `/p2p/self`, as registered) */
export function addressKey (addresses: Multiaddr[]): string {
  return addresses.map(ma => ma.decapsulateCode(CODE_P2P).toString()).sort().join(' ')
}

/** Errors that say the request was wrong, not that the point is unwell: they do not back the point off */
function isRequestError (err: unknown): boolean {
  return (err instanceof RendezvousError && !err.retryable) ||
    err instanceof NoAddressesError ||
    err instanceof InvalidNamespaceError
}

export class Scheduler {
  private readonly components: SchedulerComponents
  private readonly client: RendezvousClient
  private readonly options: SchedulerOptions
  private readonly hooks: SchedulerHooks
  private readonly log: Logger
  private readonly timers: Timers
  readonly points: RendezvousPointState[]
  private readonly registrations = new Map<string, Registration>()
  private readonly discoveries = new Map<string, Discovery>()
  private readonly unregistering = new Set<Promise<void>>()
  private controller?: AbortController
  private lastAddressKey?: string

  constructor (components: SchedulerComponents, client: RendezvousClient, points: RendezvousPointState[], options: SchedulerOptions, hooks: SchedulerHooks) {
    this.components = components
    this.client = client
    this.points = points
    this.options = options
    this.hooks = hooks
    this.log = components.logger.forComponent('libp2p:rendezvous:scheduler')
    this.timers = new Timers((key, err) => { this.log.error('task %s failed - %e', key, err) })
  }

  get running (): boolean {
    return this.controller != null && !this.controller.signal.aborted
  }

  start (): void {
    if (this.running) {
      return
    }

    this.controller = new AbortController()
    this.timers.open()
    this.lastAddressKey = addressKey(this.components.addressManager.getAddresses())
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
  }

  /**
   * Stops every timer and request, then sends UNREGISTER for every namespace registered (waiting at most
   * `stopTimeout`). Safe to call twice.
   */
  async stop (): Promise<void> {
    if (this.controller == null) {
      return
    }

    this.controller.abort()
    this.controller = undefined
    this.timers.clear()
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)

    // a point backing off after failures would most likely not hear the UNREGISTER either: do not wait for it
    const now = Date.now()
    const registered = [...this.registrations.values()]
      .filter(reg => reg.ttl != null || reg.current != null)
      .filter(reg => !(reg.point.down && reg.point.backoffUntil > now))
    this.registrations.clear()
    this.discoveries.clear()

    for (const reg of registered) {
      this.unregisterAt(reg.point, reg.ns)
    }

    await Promise.allSettled([...this.unregistering])
  }

  /** The namespaces now wanted: starts what is new, stops (and unregisters) what was dropped */
  setNamespaces (specs: NamespaceSpec[]): void {
    if (!this.running) {
      return
    }

    const register = new Set(specs.filter(s => s.register).map(s => s.ns))
    const discover = new Set(specs.filter(s => s.discover).map(s => s.ns))

    for (const [key, reg] of this.registrations) {
      if (!register.has(reg.ns)) {
        this.registrations.delete(key)
        this.timers.cancel(key)

        if (reg.ttl != null || reg.current != null) {
          this.log('no longer registering "%s" at %s', reg.ns, reg.point.id)
          this.unregisterAt(reg.point, reg.ns)
        }
      }
    }

    for (const [key, d] of this.discoveries) {
      if (!discover.has(d.ns)) {
        this.discoveries.delete(key)
        this.timers.cancel(key)
        this.client.resetCookies(d.point.multiaddr, d.ns)
      }
    }

    for (const point of this.points) {
      for (const ns of register) {
        const key = `reg:${point.id}:${ns}`

        if (!this.registrations.has(key)) {
          const reg: Registration = { ns, point, failures: 0, again: false }
          this.registrations.set(key, reg)
          this.scheduleRegistration(reg, 0)
        }
      }

      for (const ns of discover) {
        const key = `disc:${point.id}:${ns}`

        if (!this.discoveries.has(key)) {
          const d: Discovery = { ns, point, interval: this.options.discoverInterval, queries: 0, received: 0, failures: 0, running: false }
          this.discoveries.set(key, d)
          this.scheduleDiscovery(d, 0)
        }
      }
    }
  }

  /**
   * A namespace's quota went from met to unmet (a kept peer or relay left): query it again at every point right
   * away, then at the short interval. The dialer reports only the transition, so this cannot turn into a loop; the
   * jitter spreads the queries of the many nodes that lose the same relay at the same moment.
   */
  quotaUnmet (ns: string): void {
    for (const d of this.discoveries.values()) {
      if (d.ns === ns && !d.running) {
        d.interval = this.options.discoverInterval
        this.timers.setEarlier(this.discoveryKey(d), jitter(QUOTA_UNMET_QUERY_DELAY, 0.5), async () => this.runDiscovery(d))
      }
    }
  }

  /**
   * Registers `ns` at every point now (the namespace must be among those set), resolving to the TTL each point
   * granted or the error it gave.
   */
  async registerNow (ns: string): Promise<Array<{ point: string, ttl?: number, error?: string }>> {
    const regs = [...this.registrations.values()].filter(reg => reg.ns === ns)

    await Promise.all(regs.map(async reg => {
      // a registration in flight may carry the old addresses: run once more after it
      if (reg.current != null) {
        await reg.current
      }

      await this.runRegistration(reg, true)
    }))

    return regs.map(reg => ({ point: reg.point.id, ttl: reg.lastError == null ? reg.ttl : undefined, error: reg.lastError }))
  }

  status (): SchedulerStatus {
    return {
      points: this.points.map(({ peerId, multiaddr, ...rest }) => ({ ...rest, multiaddr: multiaddr.toString() })),
      registrations: [...this.registrations.entries()].map(([key, reg]) => ({
        ns: reg.ns,
        point: reg.point.id,
        registered: reg.ttl != null && reg.registeredAt != null && reg.registeredAt + reg.ttl * 1000 > Date.now(),
        ttl: reg.ttl,
        registeredAt: reg.registeredAt,
        nextAttemptAt: this.timers.due(key),
        failures: reg.failures,
        lastError: reg.lastError
      })),
      discoveries: [...this.discoveries.entries()].map(([key, d]) => ({
        ns: d.ns,
        point: d.point.id,
        interval: d.interval,
        queries: d.queries,
        received: d.received,
        nextQueryAt: this.timers.due(key),
        failures: d.failures,
        lastError: d.lastError
      }))
    }
  }

  /** Timers set now (for tests and status) */
  get pendingTimers (): number {
    return this.timers.size
  }

  private discoveryKey (d: Discovery): string {
    return `disc:${d.point.id}:${d.ns}`
  }

  private registrationKey (reg: Registration): string {
    return `reg:${reg.point.id}:${reg.ns}`
  }

  private isActiveRegistration (reg: Registration): boolean {
    return this.running && this.registrations.get(this.registrationKey(reg)) === reg
  }

  private isActiveDiscovery (d: Discovery): boolean {
    return this.running && this.discoveries.get(this.discoveryKey(d)) === d
  }

  private scheduleRegistration (reg: Registration, delay: number): void {
    this.timers.set(this.registrationKey(reg), delay, async () => this.runRegistration(reg))
  }

  private scheduleDiscovery (d: Discovery, delay: number): void {
    this.timers.set(this.discoveryKey(d), delay, async () => this.runDiscovery(d))
  }

  /**
   * Runs one REGISTER unless one is in flight, in which case that one is followed by another (the trigger may
   * carry news the running one does not have, such as new addresses).
   */
  private async runRegistration (reg: Registration, ignoreBackoff = false): Promise<void> {
    if (reg.current != null) {
      reg.again = true
      return reg.current
    }

    reg.current = this.register(reg, ignoreBackoff).finally(() => {
      reg.current = undefined

      if (reg.again) {
        reg.again = false

        if (this.isActiveRegistration(reg)) {
          this.scheduleRegistration(reg, 0)
        }
      }
    })

    return reg.current
  }

  private async register (reg: Registration, ignoreBackoff: boolean): Promise<void> {
    const signal = this.controller?.signal

    if (signal == null || !this.isActiveRegistration(reg)) {
      return
    }

    this.timers.cancel(this.registrationKey(reg))
    const point = reg.point
    const now = Date.now()

    if (!ignoreBackoff && point.backoffUntil > now) {
      this.scheduleRegistration(reg, point.backoffUntil - now)
      return
    }

    const addresses = this.components.addressManager.getAddresses()

    try {
      const ttl = await this.client.register(point.multiaddr, reg.ns, { ttl: this.options.ttl, multiaddrs: addresses, signal })
      this.hooks.onRequest?.('register', 'ok')

      if (!this.isActiveRegistration(reg)) {
        // dropped or stopped while in flight: whoever dropped it sent the UNREGISTER
        return
      }

      reg.ttl = Math.max(1, ttl)
      reg.registeredAt = Date.now()
      reg.addressKey = addressKey(addresses)
      reg.failures = 0
      reg.lastError = undefined
      this.pointSucceeded(point)
      this.log('registered "%s" at %s for %d s', reg.ns, point.id, reg.ttl)
      this.scheduleRegistration(reg, this.refreshDelay(reg.ttl))
    } catch (err: any) {
      if (signal.aborted) {
        return
      }

      this.hooks.onRequest?.('register', 'error')
      reg.failures++
      reg.lastError = err?.message ?? String(err)

      if (!this.isActiveRegistration(reg)) {
        return
      }

      if (isRequestError(err)) {
        // the point answered, or we had nothing to send: only this registration backs off
        if (err instanceof RendezvousError) {
          this.pointSucceeded(point)
        }

        this.log('registering "%s" at %s failed - %s', reg.ns, point.id, reg.lastError)
        this.scheduleRegistration(reg, backoffDelay(reg.failures, this.options.pointBackoff))
      } else {
        this.pointFailed(point, err)
        this.scheduleRegistration(reg, Math.max(0, point.backoffUntil - Date.now()))
      }
    }
  }

  private async runDiscovery (d: Discovery): Promise<void> {
    const signal = this.controller?.signal

    if (signal == null || !this.isActiveDiscovery(d) || d.running) {
      return
    }

    this.timers.cancel(this.discoveryKey(d))
    const point = d.point
    const now = Date.now()

    if (point.backoffUntil > now) {
      this.scheduleDiscovery(d, point.backoffUntil - now)
      return
    }

    d.running = true

    try {
      const result = await this.client.discover(point.multiaddr, d.ns, { limit: this.options.discoverLimit, signal })
      this.hooks.onRequest?.('discover', 'ok')
      this.pointSucceeded(point)

      if (!this.isActiveDiscovery(d)) {
        return
      }

      d.queries++
      d.failures = 0
      d.lastError = undefined
      d.received += result.registrations.length
      const fresh = await this.hooks.onRegistrations(d.ns, result.registrations)

      if (this.isActiveDiscovery(d)) {
        this.scheduleDiscovery(d, this.nextQueryDelay(d, fresh, result))
      }
    } catch (err: any) {
      if (signal.aborted) {
        return
      }

      this.hooks.onRequest?.('discover', 'error')
      d.failures++
      d.lastError = err?.message ?? String(err)

      if (!this.isActiveDiscovery(d)) {
        return
      }

      if (isRequestError(err)) {
        this.pointSucceeded(point)

        if (err instanceof RendezvousError && err.status === Message.ResponseStatus.E_INVALID_COOKIE) {
          this.client.resetCookies(point.multiaddr, d.ns)
        }

        this.log('discovering "%s" at %s failed - %s', d.ns, point.id, d.lastError)
        this.scheduleDiscovery(d, backoffDelay(d.failures, this.options.pointBackoff))
      } else {
        this.pointFailed(point, err)
        this.scheduleDiscovery(d, Math.max(0, point.backoffUntil - Date.now()))
      }
    } finally {
      d.running = false
    }
  }

  /**
   * After a query: at once when the page was full (the point holds more), else the short interval while new peers
   * arrive, doubling while nothing new does, and the long interval once the quota is met.
   */
  private nextQueryDelay (d: Discovery, fresh: number, result: DiscoverResult): number {
    d.interval = fresh > 0 ? this.options.discoverInterval : Math.min(d.interval * 2, this.options.maxDiscoverInterval)

    if (result.registrations.length + result.dropped >= this.options.discoverLimit && result.cookie != null) {
      this.hooks.onPaging?.(d.ns, true)
      return 0
    }

    this.hooks.onPaging?.(d.ns, false)

    if (this.hooks.deficit(d.ns) > 0) {
      return jitter(d.interval)
    }

    return jitter(this.options.satisfiedDiscoverInterval)
  }

  /** Refresh at the TTL minus the margin (at most a quarter of the TTL) minus up to 10% of the TTL at random */
  private refreshDelay (ttlSeconds: number): number {
    const ttl = ttlSeconds * 1000
    const margin = Math.min(this.options.refreshMargin, ttl / 4)
    return Math.max(0, ttl - margin - Math.random() * ttl / 10)
  }

  private pointFailed (point: RendezvousPointState, err: any): void {
    const now = Date.now()
    point.lastError = err?.message ?? String(err)
    point.down = true

    // several requests in flight fail together: count them as one failure
    if (point.backoffUntil > now) {
      return
    }

    point.failures++
    point.backoffUntil = now + backoffDelay(point.failures, this.options.pointBackoff)
    this.log('rendezvous point %s failed %d time(s), backing off for %d ms - %s', point.id, point.failures, point.backoffUntil - now, point.lastError)
  }

  private pointSucceeded (point: RendezvousPointState): void {
    const wasDown = point.down
    point.failures = 0
    point.backoffUntil = 0
    point.down = false
    point.lastError = undefined
    point.lastSuccessAt = Date.now()

    if (wasDown) {
      this.pointUp(point)
    }
  }

  /** A point is back: everything waiting on it runs now; registrations run again (it may have lost them) */
  private pointUp (point: RendezvousPointState): void {
    if (!this.running) {
      return
    }

    this.log('rendezvous point %s is back', point.id)
    this.hooks.onPointUp?.(point)

    for (const reg of this.registrations.values()) {
      if (reg.point === point) {
        this.scheduleRegistration(reg, 0)
      }
    }

    for (const d of this.discoveries.values()) {
      if (d.point === point && !d.running) {
        this.timers.setEarlier(this.discoveryKey(d), 0, async () => this.runDiscovery(d))
      }
    }
  }

  private unregisterAt (point: RendezvousPointState, ns: string): void {
    const promise = this.client.unregister(point.multiaddr, ns, { signal: AbortSignal.timeout(this.options.stopTimeout) })
      .then(() => {
        this.hooks.onRequest?.('unregister', 'ok')
      }, (err: any) => {
        this.hooks.onRequest?.('unregister', 'error')
        this.log('could not unregister "%s" at %s - %s', ns, point.id, err?.message ?? err)
      })
      .finally(() => {
        this.unregistering.delete(promise)
      })
    this.unregistering.add(promise)
  }

  private readonly onSelfUpdate = (): void => {
    const key = addressKey(this.components.addressManager.getAddresses())

    if (key === this.lastAddressKey) {
      return
    }

    this.lastAddressKey = key
    this.log('addresses changed, registering again')

    for (const reg of this.registrations.values()) {
      if (reg.addressKey !== key) {
        // at once, even if this registration was waiting out a refusal: new addresses make a new request. A point
        // in backoff is still left alone
        void this.runRegistration(reg)
      }
    }
  }

  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => {
    const point = this.points.find(p => p.peerId.equals(evt.detail))

    if (point != null) {
      // a point that restarts may lose its registrations: treat the reconnect as its return
      point.down = true
    }
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => {
    const point = this.points.find(p => p.peerId.equals(evt.detail))

    if (point?.down === true) {
      this.pointSucceeded(point)
    }
  }
}
