/**
 * One counter group for the client: requests by `<type>_<outcome>`, where the outcome is the wire status in
 * lower case (`ok`, `e_invalid_ttl`, …), `sent` for UNREGISTER, or `error` when no valid reply came (timeout,
 * dial failure, EOF, wrong type). Few keys, so that a Prometheus scrape stays small.
 */
import type { CounterGroup, Metrics } from '@libp2p/interface'

export const REQUESTS_METRIC = 'libp2p_rendezvous_client_requests_total'

export type RequestKind = 'register' | 'unregister' | 'discover'

export class ClientMetrics {
  private readonly requests?: CounterGroup

  constructor (metrics?: Metrics) {
    this.requests = metrics?.registerCounterGroup(REQUESTS_METRIC, {
      label: 'type_status',
      help: 'Rendezvous requests sent by this node, by message type and outcome'
    })
  }

  count (kind: RequestKind, outcome: string): void {
    this.requests?.increment({ [`${kind}_${outcome.toLowerCase()}`]: true })
  }
}
