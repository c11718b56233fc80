/**
 * How many more peers each discovered namespace wants: the feedback from the quotas to the query schedule, held
 * apart from both so that neither calls the other. The quota keeper writes a namespace's deficit at each count
 * (peers/quotas.ts); the queries read it to choose their next delay and listen for `unmet` to look again soon
 * (points/queries.ts). The import graph shows the loop: quotas -> demand <- queries.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { retainNamespaces } from './namespace-maps.ts'

export interface DemandEvents {
  /** A namespace's quota went from met (or new) to unmet: discovery should look again soon */
  unmet: CustomEvent<string>
}

export class Demand extends TypedEventEmitter<DemandEvents> {
  /** ns -> how many more peers it wants (<= 0: its quota is met) */
  private readonly deficits = new Map<string, number>()
  /** ns -> whether its quota was met at the last count that could say so */
  private readonly met = new Map<string, boolean>()

  /**
   * The namespace's deficit as a count of the quota keeper found it; the first count of a namespace, and every
   * count that finds a met quota unmet, sends `unmet`
   */
  count (ns: string, deficit: number): void {
    this.deficits.set(ns, deficit)
    const wasMet = this.met.get(ns)
    this.met.set(ns, deficit <= 0)

    if (deficit > 0 && wasMet !== false) {
      this.safeDispatchEvent('unmet', { detail: ns })
    }
  }

  /**
   * A newer deficit between counts (a namespace just added, before its first count; dials just queued): readable
   * at once, and no `unmet` (the counts say that)
   */
  update (ns: string, deficit: number): void {
    this.deficits.set(ns, deficit)
  }

  /** How many more peers `ns` wants (<= 0: its quota is met; 0 for a namespace not discovered) */
  deficit (ns: string): number {
    return this.deficits.get(ns) ?? 0
  }

  /** Forgets every namespace not in `keep` */
  retain (keep: Set<string>): void {
    retainNamespaces(keep, this.deficits, this.met)
  }

  clear (): void {
    this.deficits.clear()
    this.met.clear()
  }
}
