/**
 * The discovery module's metrics, registered on `components.metrics` when the node has one:
 *
 * - `libp2p_rendezvous_discovery_registrations`: registrations held now (all points, all namespaces);
 * - `libp2p_rendezvous_discovery_requests_total{type_outcome}`: REGISTER / UNREGISTER / DISCOVER sent by the
 * module, `ok` or `error`;
 * - `libp2p_rendezvous_discovery_peers_total`: verified peers discovered (non-self, record accepted);
 * - `libp2p_rendezvous_discovery_dials_total{kind_outcome}`: dials by namespace kind and outcome
 * (`success`, `failure`, `skipped`);
 * - `libp2p_rendezvous_discovery_quota{kind_state}`: for each kind, connected peers counted (`connected`) and
 * peers wanted (`wanted`), summed over its namespaces; their ratio is the quota fill.
 */
import type { NamespaceKind } from './options.ts'
import type { DialOutcome } from './peers/dial-queue.ts'
import type { QuotaStatus } from './peers/dialer-status.ts'
import type { Counter, CounterGroup, Metrics } from '@libp2p/interface'

export class DiscoveryMetrics {
  private readonly requests?: CounterGroup
  private readonly dials?: CounterGroup
  private readonly peers?: Counter

  /** `registered` says how many registrations the node holds now, `quotas` what the quotas are now */
  constructor (metrics: Metrics | undefined, registered: () => number, quotas: () => QuotaStatus[]) {
    if (metrics == null) {
      return
    }

    this.requests = metrics.registerCounterGroup('libp2p_rendezvous_discovery_requests_total', {
      label: 'type_outcome',
      help: 'Requests the rendezvous discovery module sent, by type and outcome'
    })
    this.dials = metrics.registerCounterGroup('libp2p_rendezvous_discovery_dials_total', {
      label: 'kind_outcome',
      help: 'Dials of discovered peers, by namespace kind and outcome'
    })
    this.peers = metrics.registerCounter('libp2p_rendezvous_discovery_peers_total', {
      help: 'Verified peers received from rendezvous points'
    })
    metrics.registerMetric('libp2p_rendezvous_discovery_registrations', {
      help: 'Registrations this node holds at rendezvous points',
      calculate: registered
    })
    metrics.registerMetricGroup('libp2p_rendezvous_discovery_quota', {
      label: 'kind_state',
      help: 'Connected peers counted and peers wanted, per namespace kind',
      calculate: () => {
        const out: Record<string, number> = {}

        for (const quota of quotas()) {
          out[`${quota.kind}_connected`] = (out[`${quota.kind}_connected`] ?? 0) + Math.min(quota.connected, quota.quota)
          out[`${quota.kind}_wanted`] = (out[`${quota.kind}_wanted`] ?? 0) + quota.quota
        }

        return out
      }
    })
  }

  request (type: string, outcome: string): void {
    this.requests?.increment({ [`${type}_${outcome}`]: true })
  }

  dial (kind: NamespaceKind, outcome: DialOutcome): void {
    this.dials?.increment({ [`${kind}_${outcome}`]: true })
  }

  peer (): void {
    this.peers?.increment()
  }
}
