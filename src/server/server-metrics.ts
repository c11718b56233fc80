import type { RegistrationStore } from './store/registration-store.ts'
import type { VerifiedRecordsStats } from './verified-records.ts'
import type { Counter, CounterGroup, HistogramGroup, Metrics } from '@libp2p/interface'

/** Request kinds as they appear in metric labels */
export type RequestKind = 'register' | 'unregister' | 'discover' | 'invalid'

/**
 * The server's metrics, registered through libp2p's metrics component so that whichever implementation the node
 * uses (Prometheus, simple, ...) exports them. Every method is a no-op when the node has no metrics.
 */
export class ServerMetrics {
  private readonly requests?: CounterGroup
  private readonly latency?: HistogramGroup
  private readonly expired?: Counter
  private readonly storeErrors?: Counter

  constructor (metrics: Metrics | undefined, store: RegistrationStore, records?: { stats(): VerifiedRecordsStats }, waiting?: { replyBytes(): number, identifyWaits(): number }) {
    if (metrics == null) {
      return
    }

    this.requests = metrics.registerCounterGroup('libp2p_rendezvous_server_requests_total', {
      label: 'request',
      help: 'Requests handled, by type and response status, e.g. register_OK, discover_E_INVALID_COOKIE'
    })
    this.latency = metrics.registerHistogramGroup('libp2p_rendezvous_server_request_duration_seconds', {
      label: 'type',
      help: 'Time from reading a request to having written its response',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    })
    this.expired = metrics.registerCounter('libp2p_rendezvous_server_expired_registrations_total', {
      help: 'Expired registrations removed by the periodic sweep (a store may also drop expired ones as it reads, uncounted here)'
    })
    this.storeErrors = metrics.registerCounter('libp2p_rendezvous_server_store_errors_total', {
      help: 'Store operations that failed (answered E_INTERNAL_ERROR)'
    })
    if (records != null) {
      metrics.registerCounterGroup('libp2p_rendezvous_server_record_checks_total', {
        label: 'outcome',
        help: 'Signed peer records of REGISTERs: signature checked, or found among the records checked before',
        calculate: () => {
          const stats = records.stats()
          return { checked: stats.checks, cached: stats.hits }
        }
      })
    }
    if (waiting != null) {
      metrics.registerMetric('libp2p_rendezvous_server_unread_reply_bytes', {
        help: 'Bytes of DISCOVER replies written and not yet taken by their peers (bounded by maxReplyBytes)',
        calculate: () => waiting.replyBytes()
      })
      metrics.registerMetric('libp2p_rendezvous_server_identify_waits', {
        help: 'DISCOVERs waiting for their requester\'s identify, to tell a rust-libp2p reader (bounded by maxConcurrentRequests)',
        calculate: () => waiting.identifyWaits()
      })
    }
    metrics.registerMetricGroup('libp2p_rendezvous_server_store', {
      label: 'kind',
      help: 'Live registrations and namespaces in the store',
      calculate: async (): Promise<Record<string, number>> => {
        try {
          const stats = await store.stats(Date.now())
          return { registrations: stats.registrations, namespaces: stats.namespaces }
        } catch {
          this.storeErrors?.increment()
          return {}
        }
      }
    })
  }

  request (kind: RequestKind, status: string, seconds: number): void {
    this.requests?.increment({ [`${kind}_${status}`]: true })
    this.latency?.observe({ [kind]: seconds })
  }

  sweptExpired (count: number): void {
    this.expired?.increment(count)
  }

  storeError (): void {
    this.storeErrors?.increment()
  }
}
