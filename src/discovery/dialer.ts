/**
 * The dialer policy: keeps each namespace's connection quota filled from the candidates discovery found, tags the
 * peers it keeps so that the connection manager's pruning spares them, and leaves the rest untagged so it trims
 * them. libp2p v3 has no autodialer: nothing else dials what discovery finds.
 *
 * How a connected peer counts towards a namespace's quota:
 * - `topic`: pubsub lists it as subscribed to the topic (whoever dialed whom);
 * - `relay`, `dapp`, `user`: it was discovered under the namespace (its registration is alive) or we keep it.
 * A peer dialed for a namespace counts as pending until it counts, or for `countGrace` after the dial, so the
 * dialer does not dial a second peer in its place while pubsub learns the first one's subscriptions.
 */
import PQueue from 'p-queue'
import { Backoff } from './backoff.ts'
import { DIAL_PRIORITY, TAG_NAMES } from './options.ts'
import type { PubSubLike } from './node-state.ts'
import type { NamespaceKind, NamespaceSpec, ResolvedOptions } from './options.ts'
import type { ComponentLogger, Logger, PeerId, PeerStore, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface DialerComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export type DialOutcome = 'success' | 'failure' | 'skipped'

export interface DialerHooks {
  /** The pubsub service, once there is one */
  pubsub?(): PubSubLike | undefined
  /** A namespace's quota went from met (or new) to unmet: discovery should look again soon */
  onQuotaUnmet?(ns: string): void
  /** Each finished dial, for metrics */
  onDial?(kind: NamespaceKind, outcome: DialOutcome): void
}

export type DialerOptions = Pick<ResolvedOptions, 'tags' | 'peerBackoff' | 'maxParallelDials' | 'maxQueuedDials' | 'dialTimeout' | 'connectionHeadroom' | 'countGrace'>

interface Candidate {
  peerId: PeerId
  /** When the registration it came from runs out (ms since epoch) */
  expiresAt: number
}

/** The status of one namespace's quota */
export interface QuotaStatus {
  ns: string
  kind: NamespaceKind
  quota: number
  /** Connected peers that count */
  connected: number
  /** Peers being dialed or dialed recently and not counted yet */
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

/** Longest wait for the last page of a discovery before dialing from what came, in ms */
const PAGING_HOLD = 5000

/** Most candidates remembered per namespace; the oldest go first */
const MAX_CANDIDATES_PER_NAMESPACE = 1000

function shuffle<T> (items: T[], random: () => number = Math.random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i]
    items[i] = items[j]
    items[j] = tmp
  }

  return items
}

export class DialerPolicy {
  private readonly components: DialerComponents
  private readonly options: DialerOptions
  private readonly hooks: DialerHooks
  private readonly log: Logger
  private readonly backoff: Backoff
  private specs: NamespaceSpec[] = []
  /** ns -> peer -> candidate */
  private readonly candidates = new Map<string, Map<string, Candidate>>()
  /** ns -> peer -> counts as pending until (ms since epoch; Infinity while the dial waits in the queue) */
  private readonly pending = new Map<string, Map<string, number>>()
  /** ns -> peers kept (tagged) for it at the last reconcile */
  private readonly kept = new Map<string, Set<string>>()
  /** peer -> tag names we set on it */
  private readonly tagged = new Map<string, { peerId: PeerId, tags: Set<string> }>()
  /** ns -> whether its quota was met at the last reconcile */
  private readonly met = new Map<string, boolean>()
  /** Peers with a dial queued or running */
  private readonly dialing = new Set<string>()
  /** ns -> until when dialing waits for the rest of a paged discovery (ms since epoch) */
  private readonly paging = new Map<string, number>()
  /** Dials inside `openConnection` now */
  private activeDials = 0
  private queue?: PQueue
  private controller?: AbortController
  private reconcileQueued = false
  private tagChain: Promise<void> = Promise.resolve()

  constructor (components: DialerComponents, options: DialerOptions, hooks: DialerHooks = {}) {
    this.components = components
    this.options = options
    this.hooks = hooks
    this.log = components.logger.forComponent('libp2p:rendezvous:dialer')
    this.backoff = new Backoff(options.peerBackoff)
  }

  get running (): boolean {
    return this.controller != null && !this.controller.signal.aborted
  }

  start (): void {
    if (this.running) {
      return
    }

    this.controller = new AbortController()
    this.queue = new PQueue({ concurrency: this.options.maxParallelDials })
    this.components.events.addEventListener('peer:disconnect', this.onPeerEvent)
    this.components.events.addEventListener('peer:connect', this.onPeerEvent)
  }

  /** Stops dialing, drops the queue and removes every tag this dialer set */
  async stop (): Promise<void> {
    if (this.controller == null) {
      return
    }

    this.controller.abort()
    this.controller = undefined
    this.components.events.removeEventListener('peer:disconnect', this.onPeerEvent)
    this.components.events.removeEventListener('peer:connect', this.onPeerEvent)
    this.queue?.clear()
    this.queue = undefined

    const untag = [...this.tagged.values()].map(({ peerId, tags }) => ({ peerId, tags: [...tags] }))
    this.tagged.clear()
    this.kept.clear()
    this.pending.clear()
    this.dialing.clear()
    this.activeDials = 0
    this.met.clear()
    this.paging.clear()
    this.candidates.clear()
    this.backoff.clear()

    await this.tagChain
    await Promise.allSettled(untag.map(async ({ peerId, tags }) => this.setTags(peerId, tags, undefined)))
  }

  /** The namespaces now wanted; candidates, pending dials and kept peers of dropped ones are forgotten */
  setNamespaces (specs: NamespaceSpec[]): void {
    // only namespaces discovered have candidates to dial and peers to keep; the tags of the others go at the
    // next reconcile
    this.specs = specs.filter(spec => spec.discover)
    const wanted = new Set(this.specs.map(spec => spec.ns))

    for (const map of [this.candidates, this.pending, this.kept, this.met, this.paging]) {
      for (const ns of map.keys()) {
        if (!wanted.has(ns)) {
          map.delete(ns)
        }
      }
    }

    this.scheduleReconcile()
  }

  /**
   * A peer discovered under `ns` whose registration lives `ttl` seconds more. Returns true when the peer is new
   * for this namespace (not a refresh of one already known).
   */
  addCandidate (ns: string, peerId: PeerId, ttl: number): boolean {
    if (peerId.equals(this.components.peerId)) {
      return false
    }

    let pool = this.candidates.get(ns)

    if (pool == null) {
      pool = new Map()
      this.candidates.set(ns, pool)
    }

    const key = peerId.toString()
    const isNew = !pool.has(key)
    pool.delete(key)
    pool.set(key, { peerId, expiresAt: Date.now() + Math.max(0, ttl) * 1000 })

    if (pool.size > MAX_CANDIDATES_PER_NAMESPACE) {
      const oldest = pool.keys().next().value

      if (oldest != null) {
        pool.delete(oldest)
      }
    }

    this.scheduleReconcile()
    return isNew
  }

  /**
   * While a point pages through a long list for `ns`, candidates are counted but not dialed, so that the choice is
   * made among all of them rather than among the first page, which every node would get alike. Bounded by
   * `PAGING_HOLD` in case the last page never comes.
   */
  setPaging (ns: string, paging: boolean): void {
    if (paging) {
      this.paging.set(ns, Date.now() + PAGING_HOLD)
    } else if (this.paging.delete(ns)) {
      this.scheduleReconcile()
    }
  }

  /** Connected peers that count towards `ns` */
  connectedCount (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)
    return spec == null ? 0 : this.countedPeers(spec, this.connectedPeers()).length
  }

  /** How many more connected peers `ns` wants, counting pending dials; 0 or less when met */
  deficit (ns: string): number {
    const spec = this.specs.find(s => s.ns === ns)

    if (spec == null) {
      return 0
    }

    const connected = this.connectedPeers()
    return spec.quota - this.countedPeers(spec, connected).length - this.livePending(ns, connected).size
  }

  /** Runs a reconcile soon, once however many times it is asked for in between */
  scheduleReconcile (): void {
    if (this.reconcileQueued || !this.running) {
      return
    }

    this.reconcileQueued = true
    queueMicrotask(() => {
      this.reconcileQueued = false
      this.reconcile()
    })
  }

  /**
   * Counts each namespace's peers, keeps (tags) up to its quota of them, and dials candidates for the rest, by
   * priority, within the connection budget.
   */
  reconcile (): void {
    if (!this.running) {
      return
    }

    const connected = this.connectedPeers()
    const keep = new Map<string, { peerId: PeerId, tags: Set<string> }>()
    let budget = this.connectionLimit() - this.components.connectionManager.getConnections().length - this.dialing.size
    const specs = [...this.specs].sort((a, b) => DIAL_PRIORITY[b.kind] - DIAL_PRIORITY[a.kind])

    for (const spec of specs) {
      const counted = this.countedPeers(spec, connected)
      const previouslyKept = this.kept.get(spec.ns) ?? new Set()
      // keep the peers kept before first, so tags do not hop between peers from one round to the next
      counted.sort((a, b) => Number(previouslyKept.has(b.key)) - Number(previouslyKept.has(a.key)))
      const kept = counted.slice(0, spec.quota)
      this.kept.set(spec.ns, new Set(kept.map(p => p.key)))

      for (const { key, peerId } of kept) {
        const entry = keep.get(key) ?? { peerId, tags: new Set<string>() }
        entry.tags.add(TAG_NAMES[spec.kind])
        keep.set(key, entry)
      }

      const pending = this.livePending(spec.ns, connected, new Set(counted.map(p => p.key)))
      const deficit = spec.quota - counted.length - pending.size
      const wasMet = this.met.get(spec.ns)
      this.met.set(spec.ns, deficit <= 0)

      if (deficit > 0 && wasMet !== false) {
        this.hooks.onQuotaUnmet?.(spec.ns)
      }

      if (deficit <= 0 || !spec.discover || (this.paging.get(spec.ns) ?? 0) > Date.now()) {
        continue
      }

      for (const candidate of this.dialable(spec.ns, connected).slice(0, deficit)) {
        if (budget <= 0 || this.queue == null || this.queue.size >= this.options.maxQueuedDials) {
          break
        }

        budget--
        this.dial(spec, candidate.peerId)
      }
    }

    this.applyTags(keep)
  }

  status (): DialerStatus {
    const connected = this.connectedPeers()

    return {
      quotas: this.specs.map(spec => {
        const counted = this.countedPeers(spec, connected)
        return {
          ns: spec.ns,
          kind: spec.kind,
          quota: spec.quota,
          connected: counted.length,
          pending: this.livePending(spec.ns, connected, new Set(counted.map(p => p.key))).size,
          candidates: this.dialable(spec.ns, connected).length,
          kept: this.kept.get(spec.ns)?.size ?? 0
        }
      }),
      queued: this.queue?.size ?? 0,
      dialing: this.queue?.pending ?? 0,
      connections: connected.size,
      maxConnections: this.components.connectionManager.getMaxConnections(),
      connectionLimit: this.connectionLimit(),
      backedOff: this.backoff.size
    }
  }

  /** The most connections the dialer dials up to: maxConnections minus the headroom */
  connectionLimit (): number {
    const max = this.components.connectionManager.getMaxConnections()
    const headroom = this.options.connectionHeadroom ?? Math.max(2, Math.ceil(max / 10))
    return Math.max(0, max - headroom)
  }

  private readonly onPeerEvent = (): void => {
    this.scheduleReconcile()
  }

  private connectedPeers (): Map<string, PeerId> {
    const peers = new Map<string, PeerId>()

    for (const connection of this.components.connectionManager.getConnections()) {
      if (connection.status === 'open') {
        peers.set(connection.remotePeer.toString(), connection.remotePeer)
      }
    }

    return peers
  }

  private countedPeers (spec: NamespaceSpec, connected: Map<string, PeerId>): Array<{ key: string, peerId: PeerId }> {
    const counted = new Map<string, PeerId>()

    if (spec.kind === 'topic' && spec.topic != null) {
      let subscribers: PeerId[] = []

      try {
        subscribers = this.hooks.pubsub?.()?.getSubscribers(spec.topic) ?? []
      } catch {
        // pubsub not started or stopped
      }

      for (const peerId of subscribers) {
        const key = peerId.toString()

        if (connected.has(key)) {
          counted.set(key, peerId)
        }
      }
    } else {
      const now = Date.now()

      for (const [key, candidate] of this.candidates.get(spec.ns) ?? []) {
        if (candidate.expiresAt > now && connected.has(key)) {
          counted.set(key, candidate.peerId)
        }
      }

      // a kept peer whose registration ran out still counts while connected
      for (const key of this.kept.get(spec.ns) ?? []) {
        const peerId = connected.get(key)

        if (peerId != null) {
          counted.set(key, peerId)
        }
      }
    }

    return [...counted].map(([key, peerId]) => ({ key, peerId }))
  }

  /** Pending peers of `ns` that still count as pending; expired and already counted ones are dropped */
  private livePending (ns: string, connected: Map<string, PeerId>, counted?: Set<string>): Set<string> {
    const pending = this.pending.get(ns)
    const live = new Set<string>()

    if (pending == null) {
      return live
    }

    const now = Date.now()

    for (const [key, until] of pending) {
      // queued (Infinity), dialing, or connected and waiting for pubsub, each within its deadline
      const stillPending = until > now && (until === Infinity || this.dialing.has(key) || connected.has(key))

      if ((counted?.has(key) ?? false) || !stillPending) {
        pending.delete(key)
        continue
      }

      live.add(key)
    }

    return live
  }

  /** Candidates of `ns` worth dialing now, in random order so that many nodes do not all dial the same peers */
  private dialable (ns: string, connected: Map<string, PeerId>): Candidate[] {
    const pool = this.candidates.get(ns)

    if (pool == null) {
      return []
    }

    const now = Date.now()
    const out: Candidate[] = []

    for (const [key, candidate] of pool) {
      if (candidate.expiresAt <= now) {
        pool.delete(key)
        continue
      }

      if (connected.has(key) || this.dialing.has(key) || this.backoff.isBackedOff(key, now)) {
        continue
      }

      out.push(candidate)
    }

    return shuffle(out)
  }

  private dial (spec: NamespaceSpec, peerId: PeerId): void {
    const key = peerId.toString()
    const queue = this.queue
    const signal = this.controller?.signal

    if (queue == null || signal == null) {
      return
    }

    let pending = this.pending.get(spec.ns)

    if (pending == null) {
      pending = new Map()
      this.pending.set(spec.ns, pending)
    }

    pending.set(key, Infinity)
    this.dialing.add(key)

    queue.add(async () => {
      if (signal.aborted) {
        return 'skipped'
      }

      const connections = this.components.connectionManager.getConnections()

      if (connections.some(c => c.remotePeer.equals(peerId))) {
        return 'skipped'
      }

      // the budget may have shrunk while the dial waited (inbound connections arrived); dials running in
      // parallel have not opened their connection yet, so count them too
      if (connections.length + this.activeDials >= this.connectionLimit()) {
        this.log('not dialing %p for %s: at the connection limit', peerId, spec.ns)
        return 'skipped'
      }

      this.log('dialing %p for %s', peerId, spec.ns)
      this.activeDials++
      // a dial that never settles must not hold its place in the quota for ever
      this.pending.get(spec.ns)?.set(key, Date.now() + this.options.dialTimeout + this.options.countGrace)

      try {
        await this.components.connectionManager.openConnection(peerId, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.dialTimeout)]),
          // the connection manager's default priority is 50; libp2p.dial() uses 75
          priority: 40 + DIAL_PRIORITY[spec.kind] * 10
        })
      } finally {
        this.activeDials--
      }

      return 'success'
    }, { priority: DIAL_PRIORITY[spec.kind] })
      .then(outcome => {
        if (outcome === 'success') {
          this.backoff.succeed(key)
          this.pending.get(spec.ns)?.set(key, Date.now() + this.options.countGrace)
        } else {
          this.pending.get(spec.ns)?.delete(key)
        }

        this.hooks.onDial?.(spec.kind, outcome ?? 'skipped')
      }, (err: any) => {
        this.pending.get(spec.ns)?.delete(key)

        if (signal.aborted) {
          return
        }

        this.backoff.fail(key)
        this.log('dialing %p for %s failed, backing off - %s', peerId, spec.ns, err?.message ?? err)
        this.hooks.onDial?.(spec.kind, 'failure')
      })
      .finally(() => {
        this.dialing.delete(key)
        this.scheduleReconcile()
      })
  }

  private applyTags (keep: Map<string, { peerId: PeerId, tags: Set<string> }>): void {
    const changes: Array<{ peerId: PeerId, add: string[], remove: string[] }> = []

    for (const [key, { peerId, tags }] of keep) {
      const current = this.tagged.get(key)?.tags ?? new Set()
      const add = [...tags].filter(tag => !current.has(tag))
      const remove = [...current].filter(tag => !tags.has(tag))

      if (add.length > 0 || remove.length > 0) {
        changes.push({ peerId, add, remove })
      }
    }

    for (const [key, { peerId, tags }] of this.tagged) {
      if (!keep.has(key)) {
        changes.push({ peerId, add: [], remove: [...tags] })
      }
    }

    this.tagged.clear()

    for (const [key, entry] of keep) {
      this.tagged.set(key, { peerId: entry.peerId, tags: new Set(entry.tags) })
    }

    if (changes.length === 0) {
      return
    }

    // peer store writes are serialized so that a later change never lands before an earlier one
    this.tagChain = this.tagChain.then(async () => {
      for (const { peerId, add, remove } of changes) {
        await this.setTags(peerId, add, 'add')
        await this.setTags(peerId, remove, undefined)
      }
    })
  }

  private async setTags (peerId: PeerId, names: string[], action: 'add' | undefined): Promise<void> {
    if (names.length === 0) {
      return
    }

    const tags: Record<string, { value: number } | undefined> = {}

    for (const name of names) {
      tags[name] = action === 'add' ? { value: this.tagValue(name) } : undefined
    }

    try {
      await this.components.peerStore.merge(peerId, { tags })
    } catch (err: any) {
      this.log.error('could not update tags of %p - %e', peerId, err)
    }
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
