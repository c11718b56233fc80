/**
 * The module's metrics, on a stub of libp2p's Metrics: what is registered, under which names and labels, and
 * what the gauges compute.
 */
import { expect } from 'aegir/chai'
import { DiscoveryMetrics } from '../../../src/discovery/metrics.ts'
import type { QuotaStatus } from '../../../src/discovery/peers/dialer-status.ts'

class StubMetrics {
  readonly counts = new Map<string, number>()
  readonly calculated = new Map<string, () => unknown>()

  registerCounterGroup (name: string): unknown {
    return { increment: (values: Record<string, boolean>) => { Object.keys(values).forEach(label => this.add(`${name}{${label}}`)) } }
  }

  registerCounter (name: string): unknown {
    return { increment: () => { this.add(name) } }
  }

  registerMetric (name: string, options: { calculate(): unknown }): void {
    this.calculated.set(name, options.calculate)
  }

  registerMetricGroup (name: string, options: { calculate(): unknown }): void {
    this.calculated.set(name, options.calculate)
  }

  private add (key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }
}

describe('discovery metrics', () => {
  it('counts requests, dials and peers by label, and computes registrations and quota fill per kind', () => {
    const metrics = new StubMetrics()
    const quotas: QuotaStatus[] = [
      { ns: 'floodsub:a', kind: 'topic', quota: 6, connected: 8, pending: 0, candidates: 0, kept: 6 },
      { ns: 'floodsub:b', kind: 'topic', quota: 6, connected: 2, pending: 1, candidates: 3, kept: 2 },
      { ns: '/libp2p/relay', kind: 'relay', quota: 2, connected: 1, pending: 0, candidates: 0, kept: 1 }
    ]
    const discovery = new DiscoveryMetrics(metrics as any, () => 3, () => quotas)

    discovery.request('register', 'ok')
    discovery.request('register', 'ok')
    discovery.request('discover', 'error')
    discovery.dial('topic', 'success')
    discovery.peer()

    expect(Object.fromEntries(metrics.counts)).to.deep.equal({
      'libp2p_rendezvous_discovery_requests_total{register_ok}': 2,
      'libp2p_rendezvous_discovery_requests_total{discover_error}': 1,
      'libp2p_rendezvous_discovery_dials_total{topic_success}': 1,
      libp2p_rendezvous_discovery_peers_total: 1
    })
    expect(metrics.calculated.get('libp2p_rendezvous_discovery_registrations')?.()).to.equal(3)
    // connected peers beyond a quota do not count: the fill is at most 100%
    expect(metrics.calculated.get('libp2p_rendezvous_discovery_quota')?.()).to.deep.equal({
      topic_connected: 8,
      topic_wanted: 12,
      relay_connected: 1,
      relay_wanted: 2
    })
  })

  it('does nothing without a metrics component', () => {
    const discovery = new DiscoveryMetrics(undefined, () => 0, () => [])
    discovery.request('register', 'ok')
    discovery.dial('relay', 'failure')
    discovery.peer()
  })
})
