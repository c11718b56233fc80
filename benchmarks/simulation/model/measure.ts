/**
 * What a run measures, taken from the simulated world rather than from the module's status (which would cost more
 * than the module's own work at 100,000 nodes):
 *
 * - time to quota per namespace kind: for each topic of a node, the time from its joining until `quotas.topic`
 * connected peers are known to pubsub as subscribed to it (what gossipsub needs, and what the real benchmark
 * times); for a browser, until it has `quotas.relay` connected relays, and until it holds a first reservation
 * (others can dial it). Nodes that joined in the first wave (the ramp) and nodes that joined a running network
 * (after the warm-up) are reported apart. A node that left before reaching a quota is not counted (its time is
 * unknown), nor is a topic that has fewer other members online than the quota; one still short after
 * `neverAfterMs` online (by its leaving or the end of the run) is counted as never;
 * - node-hours online, for the rates per node (all nodes, and those that run the real module).
 *
 * Light nodes (model/light-node.ts) count as members of their topics and as online, and are never measured.
 */
import type { SimNode } from './node.ts'

export type Cohort = 'start' | 'steady'

export interface TimeSummary {
  /** Quotas reached */
  reached: number
  /** Quotas not reached after `neverAfterMs` online */
  never: number
  /** Times to quota, ms (never counts as infinitely long): nearest-rank percentiles, null without samples */
  p50: number | null
  p95: number | null
  p99: number | null
  max: number | null
}

interface Samples {
  times: number[]
  never: number
}

export function summarizeTimes (samples: Samples): TimeSummary {
  const sorted = [...samples.times].sort((a, b) => a - b)
  const total = sorted.length + samples.never
  const at = (p: number): number | null => {
    if (total === 0) {
      return null
    }

    const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)))
    return rank <= sorted.length ? sorted[rank - 1] : Infinity
  }

  return {
    reached: sorted.length,
    never: samples.never,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: samples.never > 0 ? Infinity : sorted[sorted.length - 1] ?? null
  }
}

export type QuotaKind = 'topic' | 'relay' | 'reachable'

export class Measurements {
  private readonly topicQuota: number
  private readonly relayQuota: number
  private readonly rampEnd: number
  private readonly steadyFrom: number
  private readonly samples = new Map<string, Samples>()
  /** Online nodes per topic */
  readonly topicMembers = new Map<string, number>()
  private onlineSince = 0
  private online = 0
  private nodeMs = 0
  /** The same for the nodes that run the real module (all of them unless the scenario has light nodes) */
  private realOnline = 0
  private realNodeMs = 0
  private windowFrom = Infinity
  /** Nodes of the first wave that have not reached every quota yet */
  private startPending = 0
  /** When every node of the first wave had reached every quota it could (ms since the run started) */
  allAtQuotaAt?: number
  private readonly origin: number
  private readonly neverAfterMs: number
  private readonly settled = new WeakSet<SimNode>()
  private readonly onAllAtQuota?: () => void

  /**
   * `neverAfterMs`: a node still short of a quota after this long online counts as never reaching it;
   * `onAllAtQuota` is called once every node of the first wave has reached every quota it can
   */
  constructor (init: { origin: number, topicQuota: number, relayQuota: number, rampEnd: number, steadyFrom: number, neverAfterMs: number, onAllAtQuota?(): void }) {
    this.origin = init.origin
    this.neverAfterMs = init.neverAfterMs
    this.topicQuota = init.topicQuota
    this.relayQuota = init.relayQuota
    this.rampEnd = init.origin + init.rampEnd
    this.steadyFrom = init.origin + init.steadyFrom
    this.onAllAtQuota = init.onAllAtQuota
  }

  /** Starts counting node-hours for the rates (the steady-state window) */
  openWindow (now: number): void {
    this.accumulate(now)
    this.nodeMs = 0
    this.realNodeMs = 0
    this.windowFrom = now
  }

  /** Node-hours online since the window opened */
  nodeHours (now: number): number {
    this.accumulate(now)
    return this.windowFrom === Infinity ? 0 : this.nodeMs / 3_600_000
  }

  /** Node-hours online since the window opened, of the nodes that run the real module */
  realNodeHours (now: number): number {
    this.accumulate(now)
    return this.windowFrom === Infinity ? 0 : this.realNodeMs / 3_600_000
  }

  joined (node: SimNode, now: number): void {
    this.accumulate(now)
    this.online++
    this.realOnline += node.light ? 0 : 1

    for (const topic of node.topics) {
      this.topicMembers.set(topic, (this.topicMembers.get(topic) ?? 0) + 1)
    }

    if (!node.light && this.cohort(node) === 'start') {
      this.startPending++
    }
  }

  left (node: SimNode, now: number): void {
    this.accumulate(now)
    this.online--
    this.realOnline -= node.light ? 0 : 1
    this.settle(node, now)

    for (const topic of node.topics) {
      this.topicMembers.set(topic, (this.topicMembers.get(topic) ?? 1) - 1)
    }
  }

  /** Something changed for `node`: records the quotas it reached */
  check (node: SimNode, now: number): void {
    if (!node.online || node.light) {
      return
    }

    const since = now - node.startedAt
    const times = node.times
    let changed = false

    for (const [topic, at] of times.topics) {
      if (at == null && node.pubsub.count(topic) >= this.topicQuota) {
        times.topics.set(topic, since)
        node.discoversAtQuota ??= node.sent.discover
        changed = true
      }
    }

    if (node.kind === 'browser') {
      if (times.reachable == null && node.reservedRelay() != null) {
        times.reachable = since
        changed = true
      }

      if (times.relayQuota == null && this.relaysConnected(node) >= this.relayQuota) {
        times.relayQuota = since
        changed = true
      }
    }

    if (changed && this.cohort(node) === 'start' && this.allReached(node)) {
      this.startPending--

      if (this.startPending === 0 && this.allAtQuotaAt == null) {
        this.allAtQuotaAt = now - this.origin
        this.onAllAtQuota?.()
      }
    }
  }

  /** Records the quotas of every node still online (at the end of the run) */
  finish (nodes: Iterable<SimNode>, now: number): void {
    this.accumulate(now)

    for (const node of nodes) {
      this.settle(node, now)
    }
  }

  summary (cohort: Cohort, kind: QuotaKind): TimeSummary {
    return summarizeTimes(this.samples.get(`${cohort}:${kind}`) ?? { times: [], never: 0 })
  }

  private cohort (node: SimNode): Cohort | undefined {
    if (node.joinedAt < this.rampEnd) {
      return 'start'
    }

    return node.joinedAt >= this.steadyFrom ? 'steady' : undefined
  }

  private allReached (node: SimNode): boolean {
    for (const [topic, at] of node.times.topics) {
      if (at == null && this.feasible(node, topic)) {
        return false
      }
    }

    return node.kind !== 'browser' || (node.times.relayQuota != null && node.times.reachable != null)
  }

  private feasible (node: SimNode, topic: string): boolean {
    return (this.topicMembers.get(topic) ?? 0) - (node.online ? 1 : 0) >= this.topicQuota
  }

  private relaysConnected (node: SimNode): number {
    let count = 0

    for (const connection of node.connectionManager.getConnections()) {
      if ((connection.remote as SimNode).runsRelay === true && (connection.remote as SimNode).online) {
        count++
      }
    }

    return count
  }

  /** Adds the node's times to the samples, once */
  private settle (node: SimNode, now: number): void {
    const cohort = this.cohort(node)

    if (cohort == null || node.light || this.settled.has(node)) {
      return
    }

    this.settled.add(node)
    const online = now - node.startedAt

    for (const [topic, at] of node.times.topics) {
      this.add(cohort, 'topic', at, online, this.feasible(node, topic))
    }

    if (node.kind === 'browser') {
      this.add(cohort, 'relay', node.times.relayQuota, online, true)
      this.add(cohort, 'reachable', node.times.reachable, online, true)
    }
  }

  private add (cohort: Cohort, kind: QuotaKind, at: number | undefined, online: number, feasible: boolean): void {
    const key = `${cohort}:${kind}`
    let samples = this.samples.get(key)

    if (samples == null) {
      samples = { times: [], never: 0 }
      this.samples.set(key, samples)
    }

    if (at != null) {
      samples.times.push(at)
    } else if (feasible && online >= this.neverAfterMs) {
      samples.never++
    }
  }

  private accumulate (now: number): void {
    if (now > this.onlineSince) {
      if (now > this.windowFrom) {
        this.nodeMs += this.online * (now - Math.max(this.onlineSince, this.windowFrom))
        this.realNodeMs += this.realOnline * (now - Math.max(this.onlineSince, this.windowFrom))
      }

      this.onlineSince = now
    }
  }
}
