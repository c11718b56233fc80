/**
 * The time-to-quota chart of a discovery-latency run: one panel per scenario, one row per method.
 */
import { cpus } from 'node:os'
import { renderDistributionChart } from '../lib/svg.ts'
import type { RunOneResult } from './run-one.ts'
import type { TransportName } from '../lib/nodes.ts'

export function renderLatencyChart (runs: RunOneResult[], scenarios: Array<{ transport: TransportName, nodes: number }>, boundMs: number, load: number, startedAt: Date): string {
  return renderDistributionChart({
    title: 'Time from start to 6 connected peers subscribed to the topic',
    subtitle: `one dot per node; black bar = median, whisker to p95; log scale; ${process.version}, ${cpus().length} cores, load ${load.toFixed(1)}; ${startedAt.toISOString().slice(0, 16)}Z`,
    minMs: 1,
    maxMs: boundMs,
    panels: scenarios.map(scenario => ({
      title: `${scenario.nodes} nodes, ${scenario.transport}`,
      rows: runs
        .filter(run => run.env.transport === scenario.transport && run.env.nodes === scenario.nodes)
        .map(run => ({
          label: run.label,
          values: run.result.nodes.map(n => n.quotaMs).filter((v): v is number => v != null),
          missing: run.result.nodes.filter(n => n.quotaMs == null).length
        }))
    })).filter(panel => panel.rows.length > 0)
  })
}
