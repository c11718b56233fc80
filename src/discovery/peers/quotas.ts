/**
 * Keeps each namespace's connection quota filled: counts the peers that count (counting.ts), keeps and tags up
 * to the quota of them (tags.ts), and dials candidates (candidates.ts) chosen by selection.ts for the rest
 * through the dial queue (dial-queue.ts), relays first, within the connection budget.
 *
 * A peer dialed for a namespace counts as pending until it counts (pending-dials.ts). While a namespace's list of
 * registrants is still being completed, its dials wait (dial-holds.ts). Each count's deficit goes to `Demand`,
 * which the queries read.
 *
 * It runs again (once per tick however often it is asked) on every connection change, subscription change and
 * candidate, and on a timer at the next moment something pending or expected runs out.
 */
import { PeerMap, PeerSet } from '@libp2p/peer-collections'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { DIAL_PRIORITY, TAG_NAMES } from '../constants.ts'
import { retainNamespaces } from '../namespace-maps.ts'
import { Timers } from '../timers.ts'
import { Candidates } from './candidates.ts'
import { connectedPeers, countPeers } from './counting.ts'
import { DialHolds } from './dial-holds.ts'
import { Dialer } from './dialer.ts'
import { routeWaits as findRouteWaits } from './route-waits.ts'
import { Rings, planDials } from './selection.ts'
import { Tagger, tagValue } from './tags.ts'
import type { Candidate } from './candidates.ts'
import type { HoldReason } from './dial-holds.ts'
import type { DialOutcome, DialQueueComponents } from './dial-queue.ts'
import type { DialerStatus } from './dialer-status.ts'
import type { SelectionMode } from './selection.ts'
import type { TaggerComponents } from './tags.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { Demand } from '../demand.ts'
import type { NamespaceKind, NamespaceSpec } from '../options.ts'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'

export interface QuotasComponents extends DialQueueComponents, TaggerComponents {
  peerId: PeerId
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export type QuotasOptions = Pick<ResolvedOptions, 'tags' | 'peerBackoff' | 'maxParallelDials' | 'maxQueuedDials' | 'dialTimeout' | 'connectionHeadroom' | 'countGrace'>

/** The units the quotas read from and write to (none of them feeds the quotas back) */
export interface QuotasUnits {
  /** Where each namespace's deficit goes, for the queries to read */
  demand: Demand
  /** Peers pubsub lists as subscribed to a topic (none without pubsub) */
  subscriptions?: { subscribers(topic: string): PeerId[] }
  /**
   * The points' health: whether a peer is a rendezvous point that failed and has not answered since (its own
   * backoff schedule tries it, and says when it is back: then `scheduleReconcile()`)
   */
  points?: { failing(peer: PeerId): boolean }
  /** Counts each finished dial */
  metrics?: { dial(kind: NamespaceKind, outcome: DialOutcome): void }
}

/** Most time between something that may change a quota and the reconcile that looks at it, in ms */
export const RECONCILE_DELAY = 10

/**
 * How long a ring neighbour that should dial this node is waited for before this node dials it, in ms, counted
 * from when this node first saw it or last finished waiting for its list to settle, whichever is later: the
 * neighbour sees its list settle about when this node does, then needs a handshake on a loaded machine
 */
export const INBOUND_GRACE = 2000

function selectionMode (spec: NamespaceSpec): SelectionMode {
  if (spec.selection === 'closest') {
    return 'closest'
  }

  // relays never dial anyone for the relay namespace: nothing to expect from them
  return spec.kind === 'relay' ? 'random' : 'ring'
}

/** What one reconcile works with and finds, shared by the namespaces it goes through */
interface ReconcilePass {
  now: number
  connected: PeerMap<number>
  /** Peer -> the tags it keeps, filled in as the namespaces are counted */
  keep: PeerMap<Set<string>>
  /** Dials still allowed by the connection budget */
  budget: number
  /** The next moment a reconcile should run (ms since epoch) */
  nextReconcileAt: number
}

export class Quotas {
  readonly candidates = new Candidates()
  private readonly components: QuotasComponents
  private readonly options: QuotasOptions
  private readonly runtime: Runtime
  private readonly units: QuotasUnits
  private readonly demand: Demand
  private readonly log: Logger
  private readonly timers: Timers
  private readonly dials: Dialer
  private readonly tagger: Tagger
  private specs: NamespaceSpec[] = []
  /** ns -> peers kept (tagged) for it at the last reconcile */
  private readonly kept = new Map<string, PeerId[]>()
  private readonly holds = new DialHolds()
  /** ns -> its rings, for the candidates' version they were built from */
  private readonly rings = new Map<string, { version: number, quota: number, rings: Rings }>()
  private running = false

  constructor (components: QuotasComponents, options: QuotasOptions, runtime: Runtime, units: QuotasUnits) {
    this.components = components
    this.options = options
    this.runtime = runtime
    this.units = units
    this.demand = units.demand
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:quotas')
    this.timers = new Timers(runtime.clock, (key, err) => { this.log.error('%s failed - %e', key, err) })
    this.dials = new Dialer(components, options, runtime, this.candidates, units.metrics)
    this.dials.addEventListener('dialed', this.scheduleReconcile)
    this.tagger = new Tagger(components, (tag) => tagValue(tag, options.tags))
  }

  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.timers.open()
    this.dials.start()
    this.components.events.addEventListener('peer:connect', this.scheduleReconcile)
    this.components.events.addEventListener('peer:disconnect', this.scheduleReconcile)
  }

  /** Stops dialing, forgets everything, and removes every tag it set */
  async stop (): Promise<void> {
    if (!this.running) {
      return
    }

    this.running = false
    this.timers.clear()
    this.components.events.removeEventListener('peer:connect', this.scheduleReconcile)
    this.components.events.removeEventListener('peer:disconnect', this.scheduleReconcile)
    this.dials.stop()
    this.specs = []
    this.kept.clear()
    this.demand.clear()
    this.holds.clear()
    this.rings.clear()
    this.candidates.clear()
    await this.tagger.clear()
  }

  /** The namespaces now wanted; candidates, pending dials and kept peers of dropped ones are forgotten */
  setNamespaces (specs: NamespaceSpec[]): void {
    // only namespaces discovered have candidates to dial and peers to keep; the tags of the others go at the
    // next reconcile
    this.specs = specs.filter(spec => spec.discover)
    const wanted = new Set(this.specs.map(spec => spec.ns))
    this.candidates.retain(wanted)

    this.demand.retain(wanted)
    this.dials.retain(wanted)
    this.holds.retain(wanted)

    retainNamespaces(wanted, this.kept, this.rings)

    // readable before the first reconcile counts them
    for (const spec of this.specs) {
      this.demand.update(spec.ns, this.deficit(spec.ns))
    }

    this.scheduleReconcile()
  }

  /**
   * Another peer (the node itself is dropped before, in peer-intake.ts) registered under `ns` whose registration
   * lives `ttl` seconds more. Returns true when the peer is new to the namespace (not a refresh of one already
   * known).
   */
  addCandidate (ns: string, peerId: PeerId, ttl: number, record?: Uint8Array, relays?: PeerId[]): boolean {
    if (!this.specs.some(spec => spec.ns === ns)) {
      return false
    }

    const now = this.runtime.clock.now()
    const known = this.candidates.get(ns, peerId, now)?.record

    // a peer that registered again (new addresses, a new relay reservation) is worth a dial now, whatever its
    // earlier dials met
    if (record != null && known != null && !uint8ArrayEquals(record, known)) {
      this.dials.backoff.succeed(peerId)
    }

    const isNew = this.candidates.add(ns, peerId, ttl, now, record, relays)
    this.scheduleReconcile()
    return isNew
  }

  /** Dials for `ns` wait for the rest of what `point` lists (dial-holds.ts) */
  holdDials (ns: string, point: string, reason: HoldReason): void {
    this.holds.hold(ns, point, reason, this.runtime.clock.now())
  }

  /** The list `point` gives for `ns` is complete as far as it knows: dials may go */
  releaseDials (ns: string, point: string): void {
    if (this.holds.release(ns, point, this.runtime.clock.now())) {
      this.scheduleReconcile()
    }
  }

  /** Connected peers that count towards `ns` */
  connectedCount (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)
    return spec == null ? 0 : this.count(spec, connectedPeers(this.components.connectionManager), this.runtime.clock.now()).counted.length
  }

  /** How many more connected peers `ns` wants, counting pending dials and arriving peers; 0 or less when met */
  deficit (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)

    if (spec == null) {
      return 0
    }

    const now = this.runtime.clock.now()
    const connected = connectedPeers(this.components.connectionManager)
    const { counted, arriving } = this.count(spec, connected, now)
    return spec.quota - counted.length - arriving.length - this.dials.pendingPeers(spec.ns, connected, counted, now).length
  }

  /**
   * Runs a reconcile soon (within `RECONCILE_DELAY`), once however many times it is asked for in between: a
   * starting network brings connections, subscriptions and candidates by the hundred per second
   */
  readonly scheduleReconcile = (): void => {
    if (this.running) {
      this.timers.setEarlier('wake', RECONCILE_DELAY, () => { this.reconcile() })
    }
  }

  /**
   * Counts each namespace's peers, keeps (tags) up to its quota of them, and dials candidates for the rest, by
   * priority, within the connection budget.
   */
  reconcile (): void {
    if (!this.running) {
      return
    }

    const now = this.runtime.clock.now()
    const connected = connectedPeers(this.components.connectionManager)
    const pass: ReconcilePass = {
      now,
      connected,
      keep: new PeerMap(),
      budget: this.dials.budget(this.components.connectionManager.getConnections().length),
      nextReconcileAt: Infinity
    }

    for (const spec of [...this.specs].sort((a, b) => DIAL_PRIORITY[b.kind] - DIAL_PRIORITY[a.kind])) {
      this.reconcileOne(spec, pass)
    }

    this.tagger.apply(pass.keep)

    if (pass.nextReconcileAt < Infinity) {
      this.timers.setEarlier('wake', Math.max(0, pass.nextReconcileAt - now), () => { this.reconcile() })
    }
  }

  private reconcileOne (spec: NamespaceSpec, pass: ReconcilePass): void {
    const { now, connected } = pass
    const { counted, arriving, arrivingUntil } = this.count(spec, connected, now)
    const kept = counted.slice(0, spec.quota)
    this.kept.set(spec.ns, kept)

    for (const peer of kept) {
      const tags = pass.keep.get(peer) ?? new Set<string>()
      tags.add(TAG_NAMES[spec.kind])
      pass.keep.set(peer, tags)
    }

    const pending = this.dials.pendingPeers(spec.ns, connected, counted, now)
    const have = new PeerSet([...counted, ...arriving, ...pending])
    const deficit = spec.quota - have.size
    this.demand.count(spec.ns, deficit)
    pass.nextReconcileAt = Math.min(pass.nextReconcileAt, arrivingUntil ?? Infinity, this.dials.pendingUntil(spec.ns))

    // a ring namespace may owe dials to its links even at quota, and a closest one dials nearer peers to replace
    // farther ones (see selection.ts)
    if (spec.discover && (deficit > 0 || selectionMode(spec) !== 'random')) {
      const dialed = this.dialFor(spec, pass, deficit, have)

      if (dialed > 0) {
        // the dials queued count as pending
        this.demand.update(spec.ns, deficit - dialed)
      }
    }
  }

  /**
   * Dials what `spec` wants now, unless its list of registrants is still being completed; returns how many dials
   * it queued
   */
  private dialFor (spec: NamespaceSpec, pass: ReconcilePass, deficit: number, have: PeerSet): number {
    const { now, connected } = pass
    const mode = selectionMode(spec)
    const held = this.holds.heldUntil(spec.ns, now)

    if (held > now) {
      pass.nextReconcileAt = Math.min(pass.nextReconcileAt, held)
      return 0
    }

    const members = this.candidates.live(spec.ns, now)
    const routeWaits = findRouteWaits({
      members,
      connected,
      now,
      pointFailing: (peer) => this.units.points?.failing(peer) === true,
      retryAt: (peer, at) => this.dials.backoff.retryAt(peer, at)
    })
    const plan = planDials({
      self: this.components.peerId,
      mode,
      quota: spec.quota,
      deficit,
      members,
      have,
      dialable: (peer) => !connected.has(peer) && !this.dials.has(peer) && !this.dials.backoff.isBackedOff(peer, now) && !routeWaits.has(peer),
      backedOff: (peer) => !connected.has(peer) && (this.dials.backoff.isBackedOff(peer, now) || routeWaits.has(peer)),
      now,
      inboundGrace: INBOUND_GRACE,
      settledAt: this.holds.settledAt(spec.ns),
      rings: mode === 'ring' ? this.ringsOf(spec, members) : undefined,
      random: this.runtime.random
    })

    pass.nextReconcileAt = Math.min(pass.nextReconcileAt, plan.recheckAt ?? Infinity)

    let dialed = 0

    for (const peer of plan.targets) {
      if (pass.budget <= 0 || this.dials.full) {
        break
      }

      if (this.dials.dial(spec, peer)) {
        pass.budget--
        dialed++
      }
    }

    // still short and some candidates wait out a dial backoff, or for their way to be up: look again when the
    // first may be dialed
    if (dialed + plan.expected < deficit) {
      for (const member of members) {
        const retry = this.dials.backoff.retryAt(member.peerId, now)

        if (retry > 0 && !connected.has(member.peerId)) {
          pass.nextReconcileAt = Math.min(pass.nextReconcileAt, retry)
        }
      }

      // a point that is down wakes the reconcile itself when it is back
      for (const wait of routeWaits.values()) {
        pass.nextReconcileAt = Math.min(pass.nextReconcileAt, now + wait)
      }
    }

    return dialed
  }

  /** The rings of `spec`'s members, built again only when they changed */
  private ringsOf (spec: NamespaceSpec, members: Candidate[]): Rings {
    const version = this.candidates.version(spec.ns)
    const cached = this.rings.get(spec.ns)

    if (cached?.version === version && cached.quota === spec.quota) {
      return cached.rings
    }

    const rings = new Rings([this.components.peerId, ...members.map(m => m.peerId)], spec.quota)
    this.rings.set(spec.ns, { version, quota: spec.quota, rings })
    return rings
  }

  status (): DialerStatus {
    const now = this.runtime.clock.now()
    const connected = connectedPeers(this.components.connectionManager)

    return {
      quotas: this.specs.map(spec => {
        const { counted, arriving } = this.count(spec, connected, now)
        return {
          ns: spec.ns,
          kind: spec.kind,
          quota: spec.quota,
          connected: counted.length,
          pending: arriving.length + this.dials.pendingPeers(spec.ns, connected, counted, now).length,
          candidates: this.candidates.live(spec.ns, now).filter(c => !connected.has(c.peerId) && !this.dials.backoff.isBackedOff(c.peerId, now)).length,
          kept: this.kept.get(spec.ns)?.length ?? 0
        }
      }),
      queued: this.dials.queued,
      dialing: this.dials.dialing,
      connections: connected.size,
      maxConnections: this.components.connectionManager.getMaxConnections(),
      connectionLimit: this.dials.connectionLimit(),
      backedOff: this.dials.backoff.size
    }
  }

  /** The most connections the dialer dials up to: maxConnections minus the headroom */
  connectionLimit (): number {
    return this.dials.connectionLimit()
  }

  private count (spec: NamespaceSpec, connected: PeerMap<number>, now: number): ReturnType<typeof countPeers> {
    let subscribers: PeerId[] = []

    if (spec.kind === 'topic' && spec.topic != null) {
      try {
        subscribers = this.units.subscriptions?.subscribers(spec.topic) ?? []
      } catch {
        // pubsub not started or stopped
      }
    }

    return countPeers({
      self: this.components.peerId,
      spec,
      connected,
      members: this.candidates.live(spec.ns, now),
      subscribers,
      kept: this.kept.get(spec.ns) ?? [],
      now,
      countGrace: this.options.countGrace
    })
  }
}
