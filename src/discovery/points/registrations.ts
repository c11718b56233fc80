/**
 * The node's registrations: for each (point, namespace) one REGISTER as soon as the node has addresses,
 * refreshed before the granted TTL runs out (with jitter), sent again when the addresses change, and an
 * UNREGISTER when the namespace is dropped or the module stops.
 *
 * Order at one point is kept per namespace: an UNREGISTER goes only after the REGISTER in flight has settled
 * (so the point cannot take them in the wrong order and keep the node registered for a whole TTL), and a new
 * REGISTER of the same namespace only after that UNREGISTER; the wait is bounded by `stopTimeout`.
 *
 * When a point comes back after being disconnected or failing, the node does not register everything again on
 * the chance that the point lost it: one DISCOVER of a namespace registered there shows whether the point still
 * holds the node's registration, and only if it does not are the registrations at that point sent again.
 *
 * A REGISTER the point refuses (any status answer) backs off that namespace at that point alone: the point is up
 * and serves the node's other namespaces (refusals.ts says for how long: a node with 40 topics at a point capped
 * at 32 asks about its 8 others a few times in the first minute and then each about once in 4 minutes, not 8
 * times per second). Whichever refused namespace is due first probes the point for them all: a slot that may have
 * freed (a namespace accepted or unregistered there) brings the others back within about a second, so a point
 * that refused for a moment (busy) has them all again soon.
 */
import { CODE_P2P } from '@multiformats/multiaddr'
import { RendezvousError } from '../../errors.ts'
import { jitter } from '../backoff.ts'
import { clockTimeout, settleWithin } from '../clock.ts'
import { PointWork } from './point-work.ts'
import { PointRefusals, REFUSAL_BACKOFF, refusalDelay } from './refusals.ts'
import { pointListsNode } from './registration-check.ts'
import type { PointHealth, WorkState } from './point-health.ts'
import type { PointPlacement } from './point-placement.ts'
import type { Point } from './point.ts'
import type { RendezvousClient } from '../../client/types.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RegistrationsComponents {
  /** This node */
  peerId: PeerId
  client: Pick<RendezvousClient, 'register' | 'unregister' | 'discover'>
  /** The node's addresses now, as they go into its record */
  addresses(): Multiaddr[]
  logger: ComponentLogger
}

export type RegistrationsOptions = Pick<ResolvedOptions, 'ttl' | 'refreshMargin' | 'stopTimeout' | 'discoverLimit'>

export interface RegistrationsEvents {
  /** A REGISTER was due but the node has no address to put in its record */
  'no-addresses': CustomEvent
}

export interface RegistrationsUnits {
  /** Counts each finished request */
  metrics?: { request(kind: 'register' | 'unregister', outcome: 'ok' | 'error'): void }
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

interface Registration extends WorkState {
  key: string
  ns: string
  point: Point
  /** TTL granted by the point, in seconds, once registered */
  ttl?: number
  registeredAt?: number
  /** The addresses registered, as a key, to notice changes */
  addressKey?: string
  /** The addresses the REGISTER in flight carries */
  sending?: string
  inFlight?: Promise<void>
  /** Aborts the REGISTER in flight; used only when a stop or drop deadline passes */
  controller?: AbortController
  /** Another REGISTER follows the one in flight (something changed while it flew) */
  again: boolean
  /** Due, but the node had no addresses: the next address change sends it */
  waitingForAddresses: boolean
  /** The point refused the last REGISTER (a status answer) */
  refused?: boolean
}

/** The node's addresses as one comparable string (without `/p2p/self`, as registered) */
export function addressKey (addresses: Multiaddr[]): string {
  return addresses.map(ma => ma.decapsulateCode(CODE_P2P).toString()).sort().join(' ')
}

export class Registrations extends PointWork<RegistrationsEvents> {
  private readonly components: RegistrationsComponents
  private readonly options: RegistrationsOptions
  private readonly units: RegistrationsUnits
  private readonly entries = new Map<string, Registration>()
  /** UNREGISTERs under way, by registration key: a new REGISTER of the same key waits for its own */
  private readonly unregistering = new Map<string, Promise<void>>()
  /** Points being checked for the node's registrations after coming back */
  private readonly checking = new Set<string>()
  private readonly refusals = new PointRefusals()
  /** The namespaces the node registers */
  private wanted = new Set<string>()

  constructor (components: RegistrationsComponents, points: PointHealth, placement: PointPlacement, options: RegistrationsOptions, runtime: Runtime, units: RegistrationsUnits = {}) {
    super(points, placement, runtime, components.logger.forComponent('libp2p:rendezvous:discovery:registrations'))
    this.components = components
    this.options = options
    this.units = units
  }

  /**
   * Stops every timer, then sends UNREGISTER for every namespace registered or being registered, each after its
   * REGISTER in flight has settled; waits at most `stopTimeout` for all of it. Safe to call twice.
   */
  async stop (): Promise<void> {
    if (!this.halt()) {
      return
    }

    const deadline = this.runtime.clock.now() + this.options.stopTimeout
    this.refusals.clear()
    this.wanted = new Set()

    for (const reg of [...this.entries.values()]) {
      this.drop(reg, deadline)
    }

    await Promise.allSettled([...this.unregistering.values()])
  }

  /** The namespaces now registered: starts what is new, drops (and unregisters) what is no longer wanted */
  setNamespaces (namespaces: Iterable<string>): void {
    if (!this.running) {
      return
    }

    this.wanted = new Set(namespaces)
    this.placementChanged()
  }

  /**
   * Keeps one registration per namespace wanted at each of its points (those placed, and the fallback ones):
   * starts what is new, drops (and unregisters) a pair no longer placed, as a dropped namespace is
   */
  placementChanged (): void {
    if (!this.running) {
      return
    }

    const placed = this.placedPairs(this.wanted)

    for (const reg of [...this.entries.values()]) {
      if (!placed.has(reg.key)) {
        this.log('no longer registering "%s" at %s', reg.ns, reg.point.id)
        this.drop(reg, this.runtime.clock.now() + this.options.stopTimeout)
      }
    }

    for (const [key, { point, ns }] of placed) {
      if (!this.entries.has(key)) {
        const reg: Registration = { key, ns, point, failures: 0, again: false, waitingForAddresses: false }
        this.entries.set(key, reg)
        this.schedule(reg, 0)
      }
    }
  }

  /**
   * The node's addresses may have changed: every registration whose record carries other addresses registers
   * again at once (even one waiting out a refusal: new addresses make a new request); a point in backoff is
   * still left alone.
   */
  addressesChanged (): void {
    if (!this.running) {
      return
    }

    const key = addressKey(this.components.addresses())

    if (key === '') {
      return
    }

    for (const reg of this.entries.values()) {
      const carried = reg.inFlight != null ? reg.sending : reg.addressKey

      if (reg.waitingForAddresses || carried !== key) {
        reg.waitingForAddresses = false
        void this.run(reg)
      }
    }
  }

  /**
   * A point is back after failing or a closed connection. Registrations still waiting for it go at once (not
   * those that wait out a refusal: the point said no, and saying it again is no news); the others go again only
   * if the point no longer lists the node (a restart with an empty store), which one DISCOVER shows, rather than
   * sending every REGISTER again on every reconnect.
   */
  async pointBack (point: Point): Promise<void> {
    if (!this.running) {
      return
    }

    const here = [...this.entries.values()].filter(reg => reg.point.id === point.id)
    const held = here.filter(reg => this.isRegistered(reg))

    for (const reg of here) {
      if (!held.includes(reg) && reg.inFlight == null && reg.waitsForPoint === true) {
        this.schedule(reg, 0)
      }
    }

    if (held.length === 0 || this.checking.has(point.id)) {
      return
    }

    this.checking.add(point.id)

    try {
      if (await pointListsNode(point, held[0].ns, { client: this.components.client, self: this.components.peerId, limit: this.options.discoverLimit, signal: this.controller?.signal })) {
        this.log('%s still holds the registrations of this node', point.id)
        return
      }

      this.log('%s lost the registrations of this node, registering again', point.id)
    } catch (err: any) {
      if (!this.running) {
        return
      }

      this.log('could not check the registrations at %s, registering again - %s', point.id, err?.message ?? err)
    } finally {
      this.checking.delete(point.id)
    }

    for (const reg of held) {
      if (this.isActive(reg)) {
        void this.run(reg)
      }
    }
  }

  /**
   * Registers `ns` at every point now (the namespace must be among those set), resolving to the TTL each point
   * granted or the error it gave.
   */
  async registerNow (ns: string): Promise<Array<{ point: string, ttl?: number, error?: string }>> {
    const regs = [...this.entries.values()].filter(reg => reg.ns === ns)

    await Promise.all(regs.map(async reg => {
      // a registration in flight may carry the old addresses: run once more after it
      if (reg.inFlight != null) {
        await reg.inFlight
      }

      await this.run(reg, true)
    }))

    return regs.map(reg => ({ point: reg.point.id, ttl: reg.lastError == null ? reg.ttl : undefined, error: reg.lastError }))
  }

  status (): RegistrationStatus[] {
    return [...this.entries.values()].map(reg => ({
      ns: reg.ns,
      point: reg.point.id,
      registered: this.isRegistered(reg),
      ttl: reg.ttl,
      registeredAt: reg.registeredAt,
      nextAttemptAt: this.timers.due(reg.key),
      failures: reg.failures,
      lastError: reg.lastError
    }))
  }

  private isRegistered (reg: Registration): boolean {
    return reg.ttl != null && reg.registeredAt != null && reg.registeredAt + reg.ttl * 1000 > this.runtime.clock.now()
  }

  private isActive (reg: Registration): boolean {
    return this.running && this.entries.get(reg.key) === reg
  }

  private schedule (reg: Registration, delay: number): void {
    this.timers.set(reg.key, delay, async () => this.run(reg))
  }

  /**
   * Runs one REGISTER unless one is in flight, in which case that one is followed by another (the trigger may
   * carry news the running one does not have, such as new addresses).
   */
  private async run (reg: Registration, ignoreBackoff = false): Promise<void> {
    if (reg.inFlight != null) {
      reg.again = true
      return reg.inFlight
    }

    reg.inFlight = this.register(reg, ignoreBackoff).finally(() => {
      reg.inFlight = undefined

      if (reg.again) {
        reg.again = false

        if (this.isActive(reg)) {
          this.schedule(reg, 0)
        }
      }
    })

    return reg.inFlight
  }

  private async register (reg: Registration, ignoreBackoff: boolean): Promise<void> {
    if (!this.isActive(reg)) {
      return
    }

    this.timers.cancel(reg.key)
    const wait = this.points.wait(reg.point)

    if (!ignoreBackoff && wait > 0) {
      reg.waitsForPoint = true
      this.schedule(reg, wait)
      return
    }

    // an UNREGISTER of this namespace at this point is still going out: this REGISTER must land after it
    const unregistering = this.unregistering.get(reg.key)

    if (unregistering != null) {
      await unregistering

      if (!this.isActive(reg)) {
        return
      }
    }

    const addresses = this.components.addresses()

    if (addresses.length === 0) {
      reg.waitingForAddresses = true
      reg.lastError = 'this node has no addresses to register'
      this.safeDispatchEvent('no-addresses')
      return
    }

    const controller = new AbortController()
    reg.controller = controller
    reg.sending = addressKey(addresses)

    try {
      const ttl = await this.components.client.register(reg.point.multiaddr, reg.ns, { ttl: this.options.ttl, multiaddrs: addresses, signal: controller.signal })
      this.units.metrics?.request('register', 'ok')

      if (!this.isActive(reg)) {
        // dropped while in flight: the drop waits for this REGISTER, then sends the UNREGISTER
        return
      }

      const wasNew = !this.isRegistered(reg)
      reg.ttl = Math.max(1, ttl)
      reg.registeredAt = this.runtime.clock.now()
      reg.addressKey = reg.sending
      reg.failures = 0
      reg.lastError = undefined
      reg.waitsForPoint = false
      reg.refused = false
      this.points.succeeded(reg.point)
      this.log('registered "%s" at %s for %d s', reg.ns, reg.point.id, reg.ttl)
      this.schedule(reg, this.refreshDelay(reg.ttl))

      // the point took a namespace it did not hold after refusing others: it has room again
      if (wasNew && this.refusals.accepted(reg.point)) {
        this.retryRefused(reg.point)
      }
    } catch (err: any) {
      if (controller.signal.aborted) {
        return
      }

      this.units.metrics?.request('register', 'error')

      if (!this.isActive(reg)) {
        return
      }

      let delay = this.points.failed(reg.point, reg, err)
      reg.refused = err instanceof RendezvousError

      if (reg.refused) {
        delay = refusalDelay(Math.max(reg.failures, this.refusals.refused(reg.point)), this.runtime.random)
      }

      this.log('registering "%s" at %s failed, again in %d ms - %s', reg.ns, reg.point.id, Math.round(delay), reg.lastError)
      this.schedule(reg, delay)
    } finally {
      reg.sending = undefined
      reg.controller = undefined
    }
  }

  /** The namespaces `point` refused try again soon (about a second, spread), as it may have room now */
  private retryRefused (point: Point): void {
    for (const reg of this.entries.values()) {
      if (reg.point.id === point.id && reg.refused === true && reg.inFlight == null) {
        this.timers.setEarlier(reg.key, jitter(REFUSAL_BACKOFF.initial, 0.5, this.runtime.random), async () => this.run(reg))
      }
    }
  }

  /** Refresh at the TTL minus the margin (at most a quarter of the TTL) minus up to 10% of the TTL at random */
  private refreshDelay (ttlSeconds: number): number {
    const ttl = ttlSeconds * 1000
    const margin = Math.min(this.options.refreshMargin, ttl / 4)
    return Math.max(0, ttl - margin - this.runtime.random() * ttl / 10)
  }

  /**
   * Forgets a registration and, if the point may hold it, sends UNREGISTER once the REGISTER in flight (if any)
   * has settled, all by `deadline`. A point backing off after failures would most likely not hear it: it is left
   * alone, and the registration runs out with its TTL.
   */
  private drop (reg: Registration, deadline: number): void {
    this.entries.delete(reg.key)
    this.timers.cancel(reg.key)

    if (reg.ttl == null && reg.inFlight == null) {
      return
    }

    if (this.points.isDown(reg.point) && this.points.wait(reg.point) > 0) {
      return
    }

    const clock = this.runtime.clock
    const inFlight = reg.inFlight
    const unregister = (async () => {
      if (inFlight != null && !(await settleWithin(clock, inFlight, deadline - clock.now()))) {
        // the point has not answered by the deadline: stop waiting, and still say UNREGISTER in case it hears
        reg.controller?.abort()
      }

      const timeout = clockTimeout(clock, Math.max(0, deadline - clock.now()))

      try {
        await this.components.client.unregister(reg.point.multiaddr, reg.ns, { signal: timeout.signal })
        this.units.metrics?.request('unregister', 'ok')

        if (this.running && this.refusals.refusing(reg.point)) {
          // a slot the point's cap counted is free
          this.retryRefused(reg.point)
        }
      } catch (err: any) {
        this.units.metrics?.request('unregister', 'error')
        this.log('could not unregister "%s" at %s - %s', reg.ns, reg.point.id, err?.message ?? err)
      } finally {
        timeout.clear()
      }
    })().finally(() => {
      if (this.unregistering.get(reg.key) === unregister) {
        this.unregistering.delete(reg.key)
      }
    })

    this.unregistering.set(reg.key, unregister)
  }
}
