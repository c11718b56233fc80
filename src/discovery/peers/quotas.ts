/**
 * Keeps each namespace's connection quota filled: counts the peers that count (counting.ts), keeps and tags up
 * to the quota of them (tags.ts), and dials candidates (candidates.ts) chosen by selection.ts for the rest
 * through the dial queue (dial-queue.ts), relays first, within the connection budget.
 *
 * A peer dialed for a namespace counts as pending until it counts, or for `countGrace` after the dial, so that
 * no second peer is dialed in its place while pubsub learns the first one's subscriptions. While a point is
 * still paging through a long list, dials for that namespace wait for the last page (at most `PAGING_HOLD`), so
 * that the choice is made among all the registrants rather than among the first page, which every node gets
 * alike.
 *
 * It runs again (once per tick however often it is asked) on every connection change, subscription change and
 * candidate, and on a timer at the next moment something pending or expected runs out.
 */
import { PeerMap, PeerSet } from '@libp2p/peer-collections'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { DIAL_PRIORITY, TAG_NAMES } from '../constants.ts'
import { Timers } from '../timers.ts'
import { Candidates } from './candidates.ts'
import { countPeers } from './counting.ts'
import { DialQueue } from './dial-queue.ts'
import { Rings, planDials } from './selection.ts'
import { Tagger } from './tags.ts'
import type { Candidate } from './candidates.ts'
import type { DialJob, DialOutcome, DialQueueComponents } from './dial-queue.ts'
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

/** The status of one namespace's quota */
export interface QuotaStatus {
  ns: string
  kind: NamespaceKind
  quota: number
  /** Connected peers that count */
  connected: number
  /** Peers being dialed, dialed recently, or connected to us, and not counted yet */
  pending: number
  /** Known candidates not connected, not in backoff */
  candidates: number
  /** Peers tagged for this namespace */
  kept: number
}

export interface DialerStatus {
  quotas: QuotaStatus[]
  /** Dials waiting in the queue */
  queued: number
  /** Dials running */
  dialing: number
  /** Open connections of the node */
  connections: number
  maxConnections: number
  /** The most connections the dialer will dial up to */
  connectionLimit: number
  /** Peers in dial backoff */
  backedOff: number
}

/** Most time between something that may change a quota and the reconcile that looks at it, in ms */
export const RECONCILE_DELAY = 10

/** Longest wait for the last page of a discovery before dialing from what came, in ms */
export const PAGING_HOLD = 5000

/**
 * Longest wait, in all, for the registrants of a young namespace to stop arriving before dialing from what came,
 * in ms: 50 nodes started together in one process on a loaded machine register over about 3 s
 */
export const SETTLE_HOLD = 5000

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

interface Round {
  now: number
  connected: PeerMap<number>
  keep: PeerMap<Set<string>>
  budget: number
  /** The next moment a reconcile should run (ms since epoch) */
  wake: number
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
  private readonly dials: DialQueue
  private readonly tagger: Tagger
  private specs: NamespaceSpec[] = []
  /** ns -> peer -> counts as pending until (ms since epoch; Infinity while the dial waits in the queue) */
  private readonly pending = new Map<string, PeerMap<number>>()
  /** ns -> peers kept (tagged) for it at the last reconcile */
  private readonly kept = new Map<string, PeerId[]>()
  /** ns -> point -> until when dialing waits for the rest of its paged answer (ms since epoch) */
  private readonly paging = new Map<string, Map<string, number>>()
  /** ns -> when a wait for its list to be complete last ended (ms since epoch) */
  private readonly settledAt = new Map<string, number>()
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
    this.dials = new DialQueue(components, options, runtime, {
      beforeDial: async (job) => this.storeRecord(job),
      onStart: (job) => { this.dialStarted(job) },
      onDone: (job, outcome) => { this.dialDone(job, outcome) }
    })
    this.tagger = new Tagger(components, (tag) => this.tagValue(tag))
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
    this.pending.clear()
    this.kept.clear()
    this.demand.clear()
    this.paging.clear()
    this.settledAt.clear()
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

    for (const map of [this.pending, this.kept, this.paging, this.settledAt, this.rings]) {
      for (const ns of [...map.keys()]) {
        if (!wanted.has(ns)) {
          map.delete(ns)
        }
      }
    }

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

  /**
   * Dials for `ns` wait while the list of its registrants that `point` gives is known to be incomplete: more
   * pages follow at once (`paging`, waited for up to `PAGING_HOLD` after each page), or the young namespace is
   * still filling (`growing`, up to `SETTLE_HOLD` in all), so that the choice is made among all the registrants,
   * not among those that came first, which every node would get alike
   */
  holdDials (ns: string, point: string, reason: 'paging' | 'growing'): void {
    let points = this.paging.get(ns)

    if (points == null) {
      points = new Map()
      this.paging.set(ns, points)
    }

    const now = this.runtime.clock.now()
    const held = points.get(point)

    if (reason === 'paging') {
      points.set(point, now + PAGING_HOLD)
    } else if (held == null || held <= now) {
      points.set(point, now + SETTLE_HOLD)
    }
  }

  /** The list `point` gives for `ns` is complete as far as it knows: dials may go */
  releaseDials (ns: string, point: string): void {
    if (this.paging.get(ns)?.delete(point) === true) {
      this.settledAt.set(ns, this.runtime.clock.now())
      this.scheduleReconcile()
    }
  }

  /** Connected peers that count towards `ns` */
  connectedCount (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)
    return spec == null ? 0 : this.count(spec, this.connectedPeers(), this.runtime.clock.now()).counted.length
  }

  /** How many more connected peers `ns` wants, counting pending dials and arriving peers; 0 or less when met */
  deficit (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)

    if (spec == null) {
      return 0
    }

    const now = this.runtime.clock.now()
    const connected = this.connectedPeers()
    const { counted, arriving } = this.count(spec, connected, now)
    return spec.quota - counted.length - arriving.length - this.livePending(spec.ns, connected, new PeerSet(counted), now).length
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
    const connected = this.connectedPeers()
    const round: Round = {
      now,
      connected,
      keep: new PeerMap(),
      budget: this.dials.budget(this.components.connectionManager.getConnections().length),
      wake: Infinity
    }

    for (const spec of [...this.specs].sort((a, b) => DIAL_PRIORITY[b.kind] - DIAL_PRIORITY[a.kind])) {
      this.reconcileOne(spec, round)
    }

    this.tagger.apply(round.keep)

    if (round.wake < Infinity) {
      this.timers.setEarlier('wake', Math.max(0, round.wake - now), () => { this.reconcile() })
    }
  }

  private reconcileOne (spec: NamespaceSpec, round: Round): void {
    const { now, connected } = round
    const { counted, arriving, arrivingUntil } = this.count(spec, connected, now)
    const kept = counted.slice(0, spec.quota)
    this.kept.set(spec.ns, kept)

    for (const peer of kept) {
      const tags = round.keep.get(peer) ?? new Set<string>()
      tags.add(TAG_NAMES[spec.kind])
      round.keep.set(peer, tags)
    }

    const pending = this.livePending(spec.ns, connected, new PeerSet(counted), now)
    const have = new PeerSet([...counted, ...arriving, ...pending])
    const deficit = spec.quota - have.size
    this.demand.count(spec.ns, deficit)
    round.wake = Math.min(round.wake, arrivingUntil ?? Infinity, this.pendingUntil(spec.ns))

    // a ring namespace may owe dials to its links even at quota, and a closest one dials nearer peers to replace
    // farther ones (see selection.ts)
    if (spec.discover && (deficit > 0 || selectionMode(spec) !== 'random')) {
      const dialed = this.dialFor(spec, round, deficit, have)

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
  private dialFor (spec: NamespaceSpec, round: Round, deficit: number, have: PeerSet): number {
    const { now, connected } = round
    const mode = selectionMode(spec)
    const held = this.heldUntil(spec.ns, now)

    if (held > now) {
      round.wake = Math.min(round.wake, held)
      return 0
    }

    const members = this.candidates.live(spec.ns, now)
    const routeWaits = this.routeWaits(members, connected, now)
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
      settledAt: this.settledAt.get(spec.ns) ?? 0,
      rings: mode === 'ring' ? this.ringsOf(spec, members) : undefined,
      random: this.runtime.random
    })

    round.wake = Math.min(round.wake, plan.recheckAt ?? Infinity)

    let dialed = 0

    for (const peer of plan.targets) {
      if (round.budget <= 0 || this.dials.full) {
        break
      }

      if (this.dial(spec, peer)) {
        round.budget--
        dialed++
      }
    }

    // still short and some candidates wait out a dial backoff, or for their way to be up: look again when the
    // first may be dialed
    if (dialed + plan.expected < deficit) {
      for (const member of members) {
        const retry = this.dials.backoff.retryAt(member.peerId, now)

        if (retry > 0 && !connected.has(member.peerId)) {
          round.wake = Math.min(round.wake, retry)
        }
      }

      // a point that is down wakes the reconcile itself when it is back
      for (const wait of routeWaits.values()) {
        round.wake = Math.min(round.wake, now + wait)
      }
    }

    return dialed
  }

  /**
   * The candidates that cannot be reached now, with how long until they may be, in ms: a rendezvous point that is
   * down (until it is back: its own backoff tries it), and a peer whose addresses all go through relays that are
   * each such a point or in dial backoff. Dialing them would only fail at the relay (in a browser each failed
   * WebSocket is an error in the console) and back off a peer that did nothing wrong, which would then wait long
   * after its relay is back.
   */
  private routeWaits (members: Candidate[], connected: PeerMap<number>, now: number): PeerMap<number> {
    const waits = new PeerMap<number>()
    const pointDown = (peer: PeerId): number => !connected.has(peer) && this.units.points?.failing(peer) === true ? Infinity : 0
    const unavailable = (peer: PeerId): number => connected.has(peer)
      ? 0
      : Math.max(pointDown(peer), this.dials.backoff.retryAt(peer, now) - now)

    for (const member of members) {
      const own = pointDown(member.peerId)
      const viaRelays = member.relays == null ? 0 : Math.min(...member.relays.map(unavailable))
      const wait = Math.max(own, viaRelays)

      if (wait > 0) {
        waits.set(member.peerId, wait)
      }
    }

    return waits
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
    const connected = this.connectedPeers()

    return {
      quotas: this.specs.map(spec => {
        const { counted, arriving } = this.count(spec, connected, now)
        return {
          ns: spec.ns,
          kind: spec.kind,
          quota: spec.quota,
          connected: counted.length,
          pending: arriving.length + this.livePending(spec.ns, connected, new PeerSet(counted), now).length,
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

  /** Connected peers and when their oldest open connection opened */
  private connectedPeers (): PeerMap<number> {
    const peers = new PeerMap<number>()

    for (const connection of this.components.connectionManager.getConnections()) {
      if (connection.status === 'open') {
        const opened = connection.timeline.open
        const known = peers.get(connection.remotePeer)
        peers.set(connection.remotePeer, known == null ? opened : Math.min(known, opened))
      }
    }

    return peers
  }

  /** Pending peers of `ns` that still count as pending; expired and counted ones are forgotten */
  private livePending (ns: string, connected: PeerMap<number>, counted: PeerSet, now: number): PeerId[] {
    const pending = this.pending.get(ns)
    const live: PeerId[] = []

    if (pending == null) {
      return live
    }

    for (const [peer, until] of pending) {
      // queued (Infinity), dialing, or connected and waiting for pubsub, each within its deadline
      const stillPending = until > now && (until === Infinity || this.dials.has(peer) || connected.has(peer))

      if (counted.has(peer) || !stillPending) {
        pending.delete(peer)
        continue
      }

      live.push(peer)
    }

    return live
  }

  /** The earliest finite pending deadline of `ns` */
  private pendingUntil (ns: string): number {
    let until = Infinity

    for (const deadline of this.pending.get(ns)?.values() ?? []) {
      until = Math.min(until, deadline)
    }

    return until
  }

  private heldUntil (ns: string, now: number): number {
    let until = 0

    for (const [point, deadline] of this.paging.get(ns) ?? []) {
      if (deadline <= now) {
        this.paging.get(ns)?.delete(point)
      } else {
        until = Math.max(until, deadline)
      }
    }

    return until
  }

  private dial (spec: NamespaceSpec, peerId: PeerId): boolean {
    const queued = this.dials.add({ peerId, ns: spec.ns, kind: spec.kind, priority: DIAL_PRIORITY[spec.kind] })

    if (queued) {
      let pending = this.pending.get(spec.ns)

      if (pending == null) {
        pending = new PeerMap()
        this.pending.set(spec.ns, pending)
      }

      pending.set(peerId, Infinity)
    }

    return queued
  }

  /** Stores the peer's signed record (its certified addresses) before it is dialed; never rejects */
  private async storeRecord (job: DialJob): Promise<void> {
    const record = this.candidates.get(job.ns, job.peerId, this.runtime.clock.now())?.record

    if (record == null || record.byteLength === 0) {
      return
    }

    try {
      // false only means the store has this record or a newer one already
      await this.components.peerStore.consumePeerRecord(record, { expectedPeer: job.peerId })
    } catch (err: any) {
      // the addresses announced with the peer event are in the peer store anyway
      this.log('could not store the record of %p - %e', job.peerId, err)
    }
  }

  private dialStarted (job: DialJob): void {
    // a dial that never settles must not hold its place in the quota for ever
    this.pending.get(job.ns)?.set(job.peerId, this.runtime.clock.now() + this.options.dialTimeout + this.options.countGrace)
  }

  private dialDone (job: DialJob, outcome: DialOutcome): void {
    if (outcome === 'success') {
      this.pending.get(job.ns)?.set(job.peerId, this.runtime.clock.now() + this.options.countGrace)
    } else {
      this.pending.get(job.ns)?.delete(job.peerId)
    }

    this.units.metrics?.dial(job.kind, outcome)
    this.scheduleReconcile()
  }

  private tagValue (name: string): number {
    const kind = (Object.keys(TAG_NAMES) as Array<keyof typeof TAG_NAMES>).find(k => TAG_NAMES[k] === name)

    switch (kind) {
      case 'topic': return this.options.tags.topic
      case 'relay': return this.options.tags.relay
      case 'dapp': return this.options.tags.dapp
      case 'user': return this.options.tags.namespace
      default: return this.options.tags.point
    }
  }
}
