/**
 * The metrics of a point in a network of points (src/server/points/point-metrics.ts) through libp2p's Prometheus
 * metrics, read back from a prom-client registry: the names and labels an operator's dashboards use, each outcome
 * counted once per event, the points known read when scraped, and nothing at all without a metrics component. The
 * network specs run without metrics; test/cli/points-process.spec.ts scrapes a few of these from a real process.
 */
import { defaultLogger } from '@libp2p/logger'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { expect } from 'aegir/chai'
import { Registry } from 'prom-client'
import { PointMetrics } from '../../../src/server/points/point-metrics.ts'

async function values (registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)?.get()
  return Object.fromEntries((metric?.values ?? []).map(v => [Object.values(v.labels).join(','), v.value]))
}

describe('points: the metrics of a point in a network of points', () => {
  it('counts announcements, queries and admissions by outcome, and reads the points known when scraped', async () => {
    const registry = new Registry()
    const metrics = prometheusMetrics({ registry, collectDefaultMetrics: false })({ logger: defaultLogger() })
    let known = { peer: 2, learned: 0 }
    const pointMetrics = new PointMetrics(metrics, () => known)

    pointMetrics.announcement('ok')
    pointMetrics.announcement('ok')
    pointMetrics.announcement('refused')
    pointMetrics.announcement('failed')
    pointMetrics.query('ok')
    pointMetrics.query('failed')
    pointMetrics.admission('admitted')
    pointMetrics.admission('not_listed')
    pointMetrics.admission('no_protocol')
    pointMetrics.admission('no_protocol')

    expect(await values(registry, 'libp2p_rendezvous_server_point_announcements_total')).to.deep.equal({ ok: 2, refused: 1, failed: 1 })
    expect(await values(registry, 'libp2p_rendezvous_server_point_queries_total')).to.deep.equal({ ok: 1, failed: 1 })
    expect(await values(registry, 'libp2p_rendezvous_server_point_admissions_total')).to.deep.equal({ admitted: 1, not_listed: 1, no_protocol: 2 })
    expect(await values(registry, 'libp2p_rendezvous_server_points')).to.deep.equal({ peer: 2, learned: 0 })

    known = { peer: 2, learned: 5 }
    expect(await values(registry, 'libp2p_rendezvous_server_points')).to.deep.equal({ peer: 2, learned: 5 })

    // the label names the dashboards select on
    const labels = async (name: string): Promise<string[]> => ((await registry.getSingleMetric(name)?.get())?.values ?? []).flatMap(v => Object.keys(v.labels))
    expect(new Set(await labels('libp2p_rendezvous_server_points'))).to.deep.equal(new Set(['source']))
    expect(new Set(await labels('libp2p_rendezvous_server_point_announcements_total'))).to.deep.equal(new Set(['outcome']))
    expect(new Set(await labels('libp2p_rendezvous_server_point_queries_total'))).to.deep.equal(new Set(['outcome']))
    expect(new Set(await labels('libp2p_rendezvous_server_point_admissions_total'))).to.deep.equal(new Set(['outcome']))
    for (const name of ['libp2p_rendezvous_server_points', 'libp2p_rendezvous_server_point_announcements_total', 'libp2p_rendezvous_server_point_queries_total', 'libp2p_rendezvous_server_point_admissions_total']) {
      expect((await registry.getSingleMetric(name)?.get())?.help, name).to.match(/\w{10}/)
    }
  })

  it('does nothing without a metrics component', () => {
    const pointMetrics = new PointMetrics(undefined, () => { throw new Error('not read without metrics') })

    pointMetrics.announcement('ok')
    pointMetrics.query('failed')
    pointMetrics.admission('admitted')
  })
})
