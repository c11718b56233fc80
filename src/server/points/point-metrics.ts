/**
 * The metrics of a point in a network of points, through libp2p's metrics component (no-ops without one): how many
 * points it knows, how its announcements (REGISTERs under `/libp2p/rendezvous` at the others) and its queries for
 * points went, and whom it admitted. Kept apart from the request metrics (server-metrics.ts): only a point in a
 * network has them.
 */
import type { CounterGroup, Metrics } from '@libp2p/interface'

export type AnnouncementOutcome = 'ok' | 'refused' | 'failed'
export type QueryOutcome = 'ok' | 'failed'
export type AdmissionOutcome = 'admitted' | 'not_listed' | 'no_protocol'

export class PointMetrics {
  private readonly announcements?: CounterGroup
  private readonly queries?: CounterGroup
  private readonly admissions?: CounterGroup

  constructor (metrics: Metrics | undefined, known: () => { peer: number, learned: number }) {
    if (metrics == null) {
      return
    }

    metrics.registerMetricGroup('libp2p_rendezvous_server_points', {
      label: 'source',
      help: 'Points this point knows in its network of points: peer (configured) and learned',
      calculate: () => known()
    })
    this.announcements = metrics.registerCounterGroup('libp2p_rendezvous_server_point_announcements_total', {
      label: 'outcome',
      help: 'REGISTERs of this point under /libp2p/rendezvous at the points it knows: ok, refused (not admitted there, or another refusal), failed (no answer)'
    })
    this.queries = metrics.registerCounterGroup('libp2p_rendezvous_server_point_queries_total', {
      label: 'outcome',
      help: 'DISCOVERs of /libp2p/rendezvous at the points it knows, to learn points: ok, failed'
    })
    this.admissions = metrics.registerCounterGroup('libp2p_rendezvous_server_point_admissions_total', {
      label: 'outcome',
      help: 'REGISTERs under /libp2p/rendezvous received: admitted, not_listed (E_NOT_AUTHORIZED: not a peer point nor in admitPoints), no_protocol (E_NOT_AUTHORIZED: identify did not report the rendezvous protocol)'
    })
  }

  announcement (outcome: AnnouncementOutcome): void {
    this.announcements?.increment({ [outcome]: true })
  }

  query (outcome: QueryOutcome): void {
    this.queries?.increment({ [outcome]: true })
  }

  admission (outcome: AdmissionOutcome): void {
    this.admissions?.increment({ [outcome]: true })
  }
}
