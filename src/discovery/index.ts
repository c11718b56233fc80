/**
 * The rendezvous peer discovery module: derives the namespaces the node needs from its state, registers and
 * discovers them at rendezvous points (scheduler.ts), and dials what it finds until its quotas are met
 * (dialer.ts).
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
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { DefaultRendezvousClient } from '../client/rendezvous-client.ts'
import { NoRendezvousPointsError } from '../errors.ts'
import { validateNamespace } from '../protocol/namespace.ts'
import { DialerPolicy } from './dialer.ts'
import { DiscoveryMetrics } from './metrics.ts'
import { deriveNamespaces, sameNamespaces } from './namespaces.ts'
import { isPubSubLike, readNodeState } from './node-state.ts'
import { RELAY_NAMESPACE, TAG_NAMES, dappNamespace, resolveOptions } from './options.ts'
import { Scheduler, parsePoints } from './scheduler.ts'
import type { DialerStatus } from './dialer.ts'
import type { PubSubLike } from './node-state.ts'
import type { NamespaceSpec, NodeState, RendezvousDiscoveryInit, ResolvedOptions } from './options.ts'
import type { RendezvousPointState, SchedulerStatus } from './scheduler.ts'
import type { DiscoveredRegistration, RendezvousClient } from '../client/types.ts'
import type { AbortOptions, ComponentLogger, Libp2pEvents, Logger, Metrics, PeerDiscovery, PeerDiscoveryEvents, PeerId, PeerStore, PrivateKey, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { NamespaceKind, NamespaceSpec, NodeState, QuotaInit, RelayMode, RendezvousDiscoveryInit, TagInit, UserNamespace } from './options.ts'
export { RELAY_NAMESPACE, TAG_NAMES, dappNamespace, topicNamespace } from './options.ts'
export type { DialerStatus, QuotaStatus } from './dialer.ts'
export type { SchedulerStatus, RegistrationStatus, DiscoveryStatus } from './scheduler.ts'

export interface RendezvousDiscoveryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  peerStore: PeerStore
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** A read-only view of what the module is doing */
export interface RendezvousDiscoveryStatus {
  started: boolean
  /** The node state the namespaces were last derived from */
  state?: Omit<NodeState, 'addresses'> & { addresses: string[] }
  /** The namespaces in use */
  namespaces: NamespaceSpec[]
  /** Quotas, dial queue and connection budget */
  dialer: DialerStatus
  /** Points, registrations and discovery queries */
  scheduler: SchedulerStatus
  /** `/p2p-circuit` listen addresses this module added */
  relayListenersAdded: number
}

/** What `register()` got from each point */
export interface PointRegistrationResult {
  /** The point's peer id */
  point: string
  /** The TTL granted, in seconds, when the point accepted */
  ttl?: number
  /** Why it did not, otherwise */
  error?: string
}

export interface RendezvousDiscoveryDiscoverOptions extends AbortOptions {
  /** Most registrations asked of each point. Default: the `discoverLimit` option (100) */
  limit?: number
}

/** The module's API when registered under `services` */
export interface RendezvousDiscoveryService extends PeerDiscovery {
  /**
   * Registers the node under `ns` at every point now and keeps the registration refreshed until
   * `unregister(ns)` or stop. Resolves to each point's answer; rejects (while still retrying in the background)
   * when no point accepted.
   */
  register(ns: string, options?: AbortOptions): Promise<PointRegistrationResult[]>
  /** Stops registering `ns` (unless the node's state still wants it) and sends UNREGISTER to every point */
  unregister(ns: string): Promise<void>
  /**
   * Asks every point not in backoff for all registrations under `ns`, from the start. The peers found are
   * verified, stored with certified addresses, announced as `peer` events and become dial candidates.
   */
  discover(ns: string, options?: RendezvousDiscoveryDiscoverOptions): Promise<DiscoveredRegistration[]>
  /** What the module is doing: namespaces, quotas, points, registrations, queries */
  readonly status: RendezvousDiscoveryStatus
}

export class RendezvousDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements RendezvousDiscoveryService, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'libp2p-rendezvous-discovery'
  readonly [serviceCapabilities]: string[] = ['@libp2p/peer-discovery', '@libp2p/rendezvous-discovery']
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  private readonly components: RendezvousDiscoveryComponents
  private readonly options: ResolvedOptions
  private readonly log: Logger
  private readonly client: RendezvousClient
  private readonly points: RendezvousPointState[]
  private readonly scheduler: Scheduler
  private readonly dialer: DialerPolicy
  private readonly metrics: DiscoveryMetrics
  /** Namespaces registered through `register()` */
  private readonly manual = new Set<string>()
  private specs: NamespaceSpec[] = []
  private state?: NodeState
  private pubsub?: PubSubLike
  private started = false
  private pollTimer?: ReturnType<typeof setInterval>
  private relayListenersAdded = 0
  private relayListenFailed = false
  private relayListening = false
  private readonly invalidReported = new Set<string>()
  /** The newest record sequence number seen per peer, so a record seen again (another point, a re-query) is not re-verified and re-announced */
  private readonly seenSeq = new Map<string, bigint>()

  constructor (components: RendezvousDiscoveryComponents, init: RendezvousDiscoveryInit = {}) {
    super()
    this.components = components
    this.options = resolveOptions(init)
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery')
    // a node that is also a rendezvous point may list itself with the others: it cannot dial itself
    this.points = parsePoints(this.options.points.map(p => typeof p === 'string' ? multiaddr(p) : p))
      .filter(point => !point.peerId.equals(components.peerId))

    if (init.dapp != null) {
      validateNamespace(dappNamespace(init.dapp))
    }

    if (typeof init.client === 'function') {
      this.client = init.client(components)
    } else {
      this.client = init.client ?? new DefaultRendezvousClient(components, init.clientInit)
    }

    this.dialer = new DialerPolicy(components, this.options, {
      pubsub: () => this.pubsub,
      onQuotaUnmet: (ns) => { this.scheduler.quotaUnmet(ns) },
      onDial: (kind, outcome) => { this.metrics.dial(kind, outcome) }
    })
    this.scheduler = new Scheduler(components, this.client, this.points, this.options, {
      deficit: (ns) => this.dialer.deficit(ns),
      onRegistrations: async (ns, registrations) => this.onRegistrations(ns, registrations),
      onPaging: (ns, paging) => { this.dialer.setPaging(ns, paging) },
      onPointUp: (point) => { void this.tagPoint(point, true) },
      onRequest: (type, outcome) => { this.metrics.request(type, outcome) }
    })
    this.metrics = new DiscoveryMetrics(components.metrics, () => this.scheduler.status(), () => this.dialer.status())
  }

  isStarted (): boolean {
    return this.started
  }

  start (): void {
    if (this.started) {
      return
    }

    this.started = true
    this.dialer.start()
    this.scheduler.start()

    for (const point of this.points) {
      void this.tagPoint(point, true)
    }
  }

  /** Services exist by now (not in the constructor: P9), so pubsub is looked up here */
  afterStart (): void {
    if (!this.started || this.pollTimer != null) {
      return
    }

    this.findPubSub()
    this.update()
    this.pollTimer = setInterval(() => { this.update() }, this.options.pollInterval)
  }

  /** Unregisters while the connection manager still runs */
  async beforeStop (): Promise<void> {
    await this.shutdown()
  }

  async stop (): Promise<void> {
    await this.shutdown()
  }

  private async shutdown (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false

    if (this.pollTimer != null) {
      clearInterval(this.pollTimer)
      this.pollTimer = undefined
    }

    await Promise.allSettled([this.scheduler.stop(), this.dialer.stop()])
    await Promise.allSettled(this.points.map(async point => this.tagPoint(point, false)))
    this.specs = []
    this.state = undefined
    this.seenSeq.clear()
  }

  get status (): RendezvousDiscoveryStatus {
    return {
      started: this.started,
      state: this.state == null ? undefined : { ...this.state, addresses: this.state.addresses.map(ma => ma.toString()) },
      namespaces: this.specs.map(spec => ({ ...spec })),
      dialer: this.dialer.status(),
      scheduler: this.scheduler.status(),
      relayListenersAdded: this.relayListenersAdded
    }
  }

  /** The namespaces in use now */
  get namespaces (): NamespaceSpec[] {
    return this.specs.map(spec => ({ ...spec }))
  }

  async register (ns: string, options: AbortOptions = {}): Promise<PointRegistrationResult[]> {
    validateNamespace(ns)

    if (!this.started) {
      throw new NotStartedError('rendezvous discovery is not started')
    }

    if (this.points.length === 0) {
      throw new NoRendezvousPointsError('no rendezvous points are configured')
    }

    this.manual.add(ns)
    this.update()
    options.signal?.throwIfAborted()
    const results = await this.scheduler.registerNow(ns)

    if (!results.some(r => r.ttl != null)) {
      throw new NoRendezvousPointsError(`no rendezvous point accepted "${ns}": ${results.map(r => `${r.point}: ${r.error ?? 'not registered'}`).join('; ')}`)
    }

    return results
  }

  async unregister (ns: string): Promise<void> {
    validateNamespace(ns)
    this.manual.delete(ns)
    this.update()
  }

  async discover (ns: string, options: RendezvousDiscoveryDiscoverOptions = {}): Promise<DiscoveredRegistration[]> {
    validateNamespace(ns)

    if (!this.started) {
      throw new NotStartedError('rendezvous discovery is not started')
    }

    const now = Date.now()
    const points = this.points.filter(p => p.backoffUntil <= now)

    if (points.length === 0) {
      throw new NoRendezvousPointsError(this.points.length === 0 ? 'no rendezvous points are configured' : 'every rendezvous point is backing off after failures')
    }

    const byPeer = new Map<string, DiscoveredRegistration>()
    const errors: string[] = []

    await Promise.all(points.map(async point => {
      try {
        for await (const registration of this.client.discoverAll(point.multiaddr, ns, { limit: options.limit ?? this.options.discoverLimit, cookie: null, signal: options.signal })) {
          const key = registration.peerId.toString()
          const known = byPeer.get(key)

          if (known == null || known.seqNumber < registration.seqNumber) {
            byPeer.set(key, registration)
          }
        }
      } catch (err: any) {
        errors.push(`${point.id}: ${err?.message ?? err}`)
      }
    }))

    if (errors.length === points.length) {
      throw new NoRendezvousPointsError(`no rendezvous point answered: ${errors.join('; ')}`)
    }

    const registrations = [...byPeer.values()]
    await this.onRegistrations(ns, registrations)
    return registrations.filter(r => !r.peerId.equals(this.components.peerId))
  }

  private findPubSub (): void {
    if (this.pubsub != null) {
      return
    }

    try {
      // the components object is a Proxy that throws for a service the node does not have
      const service = (this.components as unknown as Record<string, unknown>)[this.options.pubsubService]

      if (isPubSubLike(service)) {
        this.pubsub = service
      }
    } catch {
      // no pubsub: no topic namespaces
    }
  }

  /** Re-reads node state, re-derives namespaces, and lets scheduler and dialer catch up */
  private update (): void {
    if (!this.started) {
      return
    }

    try {
      this.findPubSub()
      const state = readNodeState(this.components, this.pubsub, this.options.relay)
      this.state = state
      const specs = deriveNamespaces(state, this.options, (ns, problem) => {
        if (!this.invalidReported.has(ns)) {
          this.invalidReported.add(ns)
          this.log.error('ignoring namespace "%s": %s', ns, problem)
        }
      })

      for (const ns of this.manual) {
        specs.push({ ns, kind: 'user', register: true, discover: false, quota: 0 })
      }

      // a manual registration of a derived namespace only adds `register`
      const merged = mergeManual(specs)

      if (!sameNamespaces(merged, this.specs)) {
        this.log('namespaces now %s', merged.map(s => `${s.ns}${s.register ? ' +reg' : ''}${s.discover ? ` +disc(${s.quota})` : ''}`).join(', '))
        this.specs = merged
        this.scheduler.setNamespaces(merged)
        this.dialer.setNamespaces(merged)
      }

      this.ensureRelayListeners(state)
      this.dialer.reconcile()
    } catch (err: any) {
      this.log.error('could not update namespaces - %e', err)
    }
  }

  /**
   * While relays are needed, listen on `/p2p-circuit` once per relay kept (up to the relay quota): each such
   * listener is one reservation the circuit relay transport makes. Slots are added only as relays are connected,
   * because while the transport has more slots than relays it dials every peer anyone discovers, looking for one.
   */
  private ensureRelayListeners (state: NodeState): void {
    if (!this.options.relayListen || !state.needsRelay || this.options.quotas.relay === 0 || this.relayListenFailed || this.relayListening) {
      return
    }

    const configured = this.components.addressManager.getListenAddrs()
      .filter(ma => ma.toString() === '/p2p-circuit').length
    const wanted = Math.min(this.options.quotas.relay, this.dialer.connectedCount(RELAY_NAMESPACE))
    const missing = wanted - configured - this.relayListenersAdded

    if (missing <= 0) {
      return
    }

    this.relayListening = true
    const addrs = Array.from({ length: missing }, () => multiaddr('/p2p-circuit'))

    this.components.transportManager.listen(addrs)
      .then(() => {
        this.relayListenersAdded += missing
        this.log('listening on /p2p-circuit x%d to reserve relay slots', missing)
      }, (err: any) => {
        // no circuit relay transport: relays are still dialed, but no reservation is made
        this.relayListenFailed = true
        this.log.error('could not listen on /p2p-circuit (is circuitRelayTransport() configured?) - %e', err)
      })
      .finally(() => {
        this.relayListening = false
      })
  }

  /**
   * Handles verified registrations: stores each record (certified addresses), announces the peer, and offers it
   * to the dialer. Resolves to how many peers were new to the namespace.
   */
  private async onRegistrations (ns: string, registrations: DiscoveredRegistration[]): Promise<number> {
    let fresh = 0

    for (const registration of registrations) {
      if (!this.started) {
        break
      }

      if (registration.peerId.equals(this.components.peerId)) {
        continue
      }

      const key = registration.peerId.toString()
      const seen = this.seenSeq.get(key)
      const wanted = this.specs.some(spec => spec.ns === ns && spec.discover)

      if (seen != null && seen >= registration.seqNumber) {
        // already stored and announced: only the candidate's expiry moves
        if (wanted && this.dialer.addCandidate(ns, registration.peerId, registration.ttl)) {
          fresh++
        }

        continue
      }

      try {
        // false only means the store has this record or a newer one already
        await this.components.peerStore.consumePeerRecord(registration.signedPeerRecord, { expectedPeer: registration.peerId })
      } catch (err: any) {
        this.log('could not store the record of %p from "%s" - %e', registration.peerId, ns, err)
        continue
      }

      // stopped while the record was stored: no event after stop
      if (!this.started) {
        break
      }

      if (this.seenSeq.size >= MAX_SEEN_PEERS) {
        this.seenSeq.clear()
      }

      this.seenSeq.set(key, registration.seqNumber)
      this.metrics.peer()
      this.safeDispatchEvent('peer', { detail: { id: registration.peerId, multiaddrs: registration.multiaddrs } })

      if (wanted && this.dialer.addCandidate(ns, registration.peerId, registration.ttl)) {
        fresh++
      }
    }

    return fresh
  }

  /** Stores the point's address and (un)tags it `keep-alive-rendezvous`; never rejects */
  private async tagPoint (point: RendezvousPointState, keep: boolean): Promise<void> {
    const addr = stripPeerId(point.multiaddr)
    const tags = this.options.keepAlivePoints ? { [TAG_NAMES.point]: keep ? { value: this.options.tags.point } : undefined } : {}

    try {
      await this.components.peerStore.merge(point.peerId, keep ? { multiaddrs: addr == null ? [] : [addr], tags } : { tags })
    } catch (err: any) {
      this.log('could not tag rendezvous point %s - %e', point.id, err)
    }
  }
}

/** Bound on the per-peer record sequence cache; past it the cache starts over */
const MAX_SEEN_PEERS = 10_000

function stripPeerId (ma: Multiaddr): Multiaddr | undefined {
  const stripped = ma.decapsulateCode(CODE_P2P)
  return stripped.toString() === '/' ? undefined : stripped
}

/** Folds the register-only entries of `register()` into the derived spec of the same namespace, if any */
function mergeManual (specs: NamespaceSpec[]): NamespaceSpec[] {
  const byNs = new Map<string, NamespaceSpec>()

  for (const spec of specs) {
    const current = byNs.get(spec.ns)

    if (current == null) {
      byNs.set(spec.ns, spec)
    } else {
      byNs.set(spec.ns, { ...current, register: current.register || spec.register, discover: current.discover || spec.discover, quota: Math.max(current.quota, spec.quota) })
    }
  }

  return [...byNs.values()]
}

/**
 * A rendezvous discovery module for `peerDiscovery: [...]` or `services: { rendezvous: ... }`.
 */
export function rendezvousDiscovery (init: RendezvousDiscoveryInit = {}): (components: RendezvousDiscoveryComponents) => RendezvousDiscovery {
  return (components) => new RendezvousDiscovery(components, init)
}
