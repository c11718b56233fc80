/**
 * The rendezvous peer discovery module: lifecycle, API and the wiring of its units.
 *
 * - `state/`: node state (topics, relay role and need, addresses) -> the namespaces to register and discover;
 * - `points/`: the rendezvous points, their health, the node's registrations and its discovery queries;
 * - `peers/`: what is found -> `peer` events and candidates (peer-intake.ts), quotas, dials, tags, relay
 * listeners.
 *
 * Data flows one way, by typed events or plain calls downstream: state ('state') -> namespaces -> registrations
 * and queries -> pages (`PeerIntake.take`) -> `peer` events and candidates -> quotas -> dials and tags. The quotas'
 * feedback to the query schedule goes through `Demand` (demand.ts), which both use and neither owns.
 *
 * ```ts
 * const node = await createLibp2p({
 * peerDiscovery: [rendezvousDiscovery({ points: ['/dns4/rdv.example.com/tcp/443/wss/p2p/12D3…'], dapp: 'slate' })],
 * services: { identify: identify(), pubsub: gossipsub() }
 * })
 * ```
 *
 * Registered under `services` instead (`services: { rendezvous: rendezvousDiscovery(…) }`) it is the same
 * discovery module, and `node.services.rendezvous` also offers `register`, `unregister`, `discover` and `status`.
 */
import { NotStartedError, TypedEventEmitter, peerDiscoverySymbol, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { DefaultRendezvousClient } from '../client/rendezvous-client.ts'
import { RELAY_NAMESPACE } from '../constants.ts'
import { NoRendezvousPointsError } from '../errors.ts'
import { validateNamespace } from '../protocol/namespace.ts'
import { systemRuntime } from './clock.ts'
import { resolveOptions } from './config.ts'
import { Demand } from './demand.ts'
import { DiscoveryMetrics } from './metrics.ts'
import { PeerIntake } from './peers/peer-intake.ts'
import { Quotas } from './peers/quotas.ts'
import { RelayListeners } from './peers/relay-listeners.ts'
import { discoverOnce } from './points/discover-once.ts'
import { PointHealth } from './points/point-health.ts'
import { PointLearning } from './points/point-learning.ts'
import { PointPlacement } from './points/point-placement.ts'
import { pointStatus } from './points/point-status.ts'
import { PointTags } from './points/point-tags.ts'
import { parsePoints } from './points/point.ts'
import { Queries } from './points/queries.ts'
import { Registrations, addressKey } from './points/registrations.ts'
import { NamespacePlan } from './state/namespace-plan.ts'
import { SetupChecks } from './state/setup-checks.ts'
import { StateWatcher } from './state/watcher.ts'
import { Warnings } from './warnings.ts'
import type { Runtime } from './clock.ts'
import type { ResolvedOptions } from './config.ts'
import type { NamespaceSpec, NodeState, RendezvousDiscoveryInit } from './options.ts'
import type { Point } from './points/point.ts'
import type { PointRegistrationResult, RendezvousDiscoveryComponents, RendezvousDiscoveryDiscoverOptions, RendezvousDiscoveryService, RendezvousDiscoveryStatus } from './types.ts'
import type { DiscoveredRegistration, RendezvousClient } from '../client/types.ts'
import type { AbortOptions, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { NamespaceKind, NamespaceSpec, NodeState, QuotaInit, RelayMode, RendezvousDiscoveryInit, Selection, TagInit, UserNamespace } from './options.ts'
export { RELAY_NAMESPACE } from '../constants.ts'
export { TAG_NAMES } from './constants.ts'
export { dappNamespace, topicNamespace } from './namespace-names.ts'
export type { DialerStatus, QuotaStatus } from './peers/dialer-status.ts'
export type { RegistrationStatus } from './points/registrations.ts'
export type { DiscoveryStatus } from './points/queries.ts'
export type { DiscoveryWarning, DiscoveryWarningCode } from './warnings.ts'
export type { PointRegistrationResult, PointStatus, RendezvousDiscoveryComponents, RendezvousDiscoveryDiscoverOptions, RendezvousDiscoveryService, RendezvousDiscoveryStatus, SchedulerStatus } from './types.ts'

export class RendezvousDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, RendezvousDiscoveryService, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'libp2p-rendezvous-discovery'
  readonly [serviceCapabilities]: string[] = ['@libp2p/peer-discovery', '@libp2p/rendezvous-discovery']
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  private readonly components: RendezvousDiscoveryComponents
  private readonly options: ResolvedOptions
  private readonly log: Logger
  private readonly client: RendezvousClient
  /** The client this discovery made for itself, whose kept streams it closes on stop */
  private readonly ownClient?: DefaultRendezvousClient
  private readonly watcher: StateWatcher
  private readonly plan: NamespacePlan
  private readonly points: PointHealth
  private readonly placement: PointPlacement
  private readonly learning: PointLearning
  private readonly pointTags: PointTags
  private readonly registrations: Registrations
  private readonly queries: Queries
  private readonly demand = new Demand()
  private readonly intake: PeerIntake
  private readonly quotas: Quotas
  private readonly relayListeners: RelayListeners
  private readonly warnings: Warnings
  private readonly setupChecks: SetupChecks
  private readonly metrics: DiscoveryMetrics
  private state?: NodeState
  private lastAddressKey?: string
  private started = false
  /**
   * The stop under way, with the starts and stops called during it queued behind: each runs once the one before
   * has finished, so that the rest of a stop (it untags the points and forgets the namespaces after its
   * UNREGISTERs) never undoes a start that came while it ran
   */
  private transition?: Promise<void>

  /**
   * `runtime` is the clock and randomness the units use: the system's by default, a fake one in a simulator
   */
  constructor (components: RendezvousDiscoveryComponents, init: RendezvousDiscoveryInit = {}, runtime: Runtime = systemRuntime) {
    super()
    const options = this.options = resolveOptions(init)
    this.components = components
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery')
    this.warnings = new Warnings(this.log, options.onWarning)

    if (typeof options.client === 'function') {
      this.client = options.client(components)
    } else if (options.client != null) {
      this.client = options.client
    } else {
      this.client = this.ownClient = new DefaultRendezvousClient(components, options.clientInit)
    }

    this.metrics = new DiscoveryMetrics(components.metrics, () => this.registrations.status().filter(r => r.registered).length, () => this.quotas.status().quotas)
    this.watcher = new StateWatcher(components, options, runtime, () => (components as unknown as Record<string, unknown>)[options.pubsubService])
    this.plan = new NamespacePlan(options, this.log)
    const configured = parsePoints(options.points, components.peerId)
    this.points = new PointHealth(configured, options, runtime, this.log)
    this.placement = new PointPlacement(configured, this.points, options)
    this.learning = new PointLearning({ client: this.client, peerStore: components.peerStore, peerId: components.peerId }, configured, this.points, options, runtime, components.logger.forComponent('libp2p:rendezvous:discovery:points'))
    this.pointTags = new PointTags(components.peerStore, options, this.log)
    this.setupChecks = new SetupChecks(components, options, runtime, this.warnings, this.points, this.log, { state: () => this.state, registered: () => this.plan.registered(), configured: () => configured })
    const addresses = (): Multiaddr[] => components.addressManager.getAddresses()
    this.registrations = new Registrations({ peerId: components.peerId, client: this.client, addresses, logger: components.logger }, this.points, this.placement, options, runtime, { metrics: this.metrics })
    this.quotas = new Quotas(components, options, runtime, { demand: this.demand, subscriptions: this.watcher, points: this.points, metrics: this.metrics })
    this.intake = new PeerIntake(components.peerId, this.quotas)
    this.queries = new Queries({ client: this.client, logger: components.logger }, this.points, this.placement, options, runtime, { demand: this.demand, intake: this.intake, metrics: this.metrics })
    this.relayListeners = new RelayListeners(components)

    // the wiring: each unit's events to the units downstream of it
    this.watcher.addEventListener('state', (evt) => { this.apply(evt.detail) })
    this.watcher.addEventListener('subscription-change', () => { this.quotas.scheduleReconcile() })
    this.plan.addEventListener('namespaces', ({ detail: specs }) => {
      this.quotas.setNamespaces(specs)
      this.registrations.setNamespaces(specs.filter(s => s.register).map(s => s.ns))
      this.queries.setNamespaces(specs.filter(s => s.discover).map(s => s.ns))
    })
    this.placement.addEventListener('change', () => {
      this.registrations.placementChanged()
      this.queries.placementChanged()
    })
    this.learning.addEventListener('change', () => { this.placement.setKnown(this.learning.usable()) })
    this.points.addEventListener('up', (evt) => {
      this.placement.refresh()
      this.pointUp(evt.detail)
    })
    this.points.addEventListener('failed', (evt) => {
      this.placement.refresh()
      this.setupChecks.pointFailed(evt.detail)
    })
    this.registrations.addEventListener('no-addresses', () => { this.setupChecks.noAddresses() })
    this.intake.addEventListener('peer', (evt) => {
      this.metrics.peer()
      this.safeDispatchEvent('peer', { detail: evt.detail })
    })
    this.intake.addEventListener('taken', (evt) => {
      if (evt.detail.ns === RELAY_NAMESPACE) {
        this.refreshRelayListeners()
      }
    })
    this.relayListeners.addEventListener('unsupported', () => { this.setupChecks.noRelayTransport() })
  }

  isStarted (): boolean {
    return this.started
  }

  /** Starts at once, or once the stop under way (and whatever was called during it) has finished */
  start (): void | Promise<void> {
    if (this.transition != null) {
      return this.serial(async () => { this.startNow() })
    }

    this.startNow()
  }

  private startNow (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.points.reset()
    this.setupChecks.start()
    this.intake.start()
    this.relayListeners.start()
    this.quotas.start()
    this.registrations.start()
    this.queries.start()
    this.learning.start()
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)

    for (const point of this.placement.configured) {
      void this.pointTags.tag(point, true)
    }
  }

  /** Services exist by now (not in the constructor), so the pubsub service is looked up from here on */
  afterStart (): void {
    if (this.transition != null) {
      // after the start queued behind a stop
      void this.transition.then(() => { this.watchState() })
    } else {
      this.watchState()
    }
  }

  private watchState (): void {
    if (this.started) {
      this.watcher.start()
    }
  }

  /** Unregisters while the connection manager still runs */
  async beforeStop (): Promise<void> {
    await this.serial(async () => this.shutdown())
  }

  /** Resolves once stopped, after any stop or start under way */
  async stop (): Promise<void> {
    await this.serial(async () => this.shutdown())
  }

  /** Runs `step` after the lifecycle steps before it, one at a time */
  private async serial (step: () => Promise<void>): Promise<void> {
    const run = (this.transition ?? Promise.resolve()).then(step)
    const settled = run.catch(() => {})
    this.transition = settled

    try {
      await run
    } finally {
      if (this.transition === settled) {
        this.transition = undefined
      }
    }
  }

  private async shutdown (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.watcher.stop()
    this.learning.stop()
    this.queries.stop()
    this.setupChecks.stop()
    this.intake.stop()
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    await Promise.allSettled([this.registrations.stop(), this.quotas.stop(), this.relayListeners.stop()])
    // after the UNREGISTERs that stop() sends
    await this.ownClient?.stop()
    await Promise.allSettled(this.placement.configured.map(async point => this.pointTags.tag(point, false)))
    this.plan.clear()
    this.placement.setKnown(this.learning.usable())
    this.state = undefined
    this.lastAddressKey = undefined
  }

  get status (): RendezvousDiscoveryStatus {
    return {
      started: this.started,
      state: this.state == null ? undefined : { ...this.state, addresses: this.state.addresses.map(ma => ma.toString()) },
      namespaces: this.namespaces,
      dialer: this.quotas.status(),
      scheduler: {
        points: pointStatus(this.learning, this.points, this.placement, this.plan.specs.map(spec => spec.ns)),
        registrations: this.registrations.status(),
        discoveries: this.queries.status()
      },
      relayListenersAdded: this.relayListeners.added,
      warnings: this.warnings.list()
    }
  }

  /** The namespaces in use now */
  get namespaces (): NamespaceSpec[] {
    return this.plan.specs.map(spec => ({ ...spec }))
  }

  async register (ns: string, options: AbortOptions = {}): Promise<PointRegistrationResult[]> {
    validateNamespace(ns)

    if (!this.started) {
      throw new NotStartedError('rendezvous discovery is not started')
    }

    if (this.placement.configured.length === 0) {
      throw new NoRendezvousPointsError('no rendezvous points are configured')
    }

    this.plan.addManual(ns)
    this.update()
    options.signal?.throwIfAborted()
    const results = await this.registrations.registerNow(ns)

    if (!results.some(r => r.ttl != null)) {
      throw new NoRendezvousPointsError(`no rendezvous point accepted "${ns}": ${results.map(r => `${r.point}: ${r.error ?? 'not registered'}`).join('; ')}`)
    }

    return results
  }

  async unregister (ns: string): Promise<void> {
    validateNamespace(ns)
    this.plan.removeManual(ns)
    this.update()
  }

  async discover (ns: string, options: RendezvousDiscoveryDiscoverOptions = {}): Promise<DiscoveredRegistration[]> {
    validateNamespace(ns)

    if (!this.started) {
      throw new NotStartedError('rendezvous discovery is not started')
    }

    const points = this.points.available([...this.placement.pointsFor(ns), ...this.placement.fallbackFor(ns)])

    if (points.length === 0) {
      throw new NoRendezvousPointsError(this.placement.configured.length === 0 ? 'no rendezvous points are configured' : 'every rendezvous point is backing off after failures')
    }

    const registrations = await discoverOnce(this.client, points, ns, { limit: options.limit ?? this.options.discoverLimit, signal: options.signal })
    return this.intake.accept(ns, registrations).others
  }

  /** Reads the node state now and applies it */
  private update (): void {
    if (this.started) {
      this.apply(this.watcher.read())
    }
  }

  /** Re-derives the namespaces from `state` and lets every unit catch up */
  private apply (state: NodeState): void {
    if (!this.started) {
      return
    }

    try {
      this.state = state
      this.plan.apply(state)
      const key = addressKey(state.addresses)

      if (key !== this.lastAddressKey) {
        this.lastAddressKey = key
        this.registrations.addressesChanged()
      }

      this.refreshRelayListeners()
      this.setupChecks.stateApplied(state)
      this.quotas.scheduleReconcile()
    } catch (err: any) {
      this.log.error('could not apply the node state - %e', err)
    }
  }

  /**
   * One `/p2p-circuit` listener per relay counted, up to the relay quota, while a relay is needed. The count
   * changes when a relay connects or a page of relays arrives (a rendezvous point that is also a relay is connected
   * before it is known as one), which no state event reports: those call this too, instead of leaving the listener
   * to the next poll (`pollInterval`, 5 s).
   */
  private refreshRelayListeners (): void {
    if (this.started && this.state != null) {
      const needed = this.options.relayListen && this.state.needsRelay && this.options.quotas.relay > 0
      this.relayListeners.update(needed, needed ? Math.min(this.options.quotas.relay, this.quotas.connectedCount(RELAY_NAMESPACE)) : 0)
    }
  }

  private pointUp (point: Point): void {
    if (!this.started) {
      return
    }

    if (this.placement.configured.some(p => p.id === point.id)) {
      void this.pointTags.tag(point, true)
    }

    void this.registrations.pointBack(point)
    this.queries.pointBack(point)
    // candidates reached through it may be dialed again
    this.quotas.scheduleReconcile()
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => {
    this.points.connected(evt.detail)
    this.refreshRelayListeners()
  }

  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.points.disconnected(evt.detail)
    this.learning.disconnected(evt.detail)
  }
}

/**
 * A rendezvous discovery module for `peerDiscovery: [...]` or `services: { rendezvous: ... }`. A bad option throws
 * here, where the application names it, as well as when libp2p builds the module.
 */
export function rendezvousDiscovery (init: RendezvousDiscoveryInit = {}): (components: RendezvousDiscoveryComponents) => PeerDiscovery & RendezvousDiscoveryService {
  resolveOptions(init)
  return (components) => new RendezvousDiscovery(components, init)
}
