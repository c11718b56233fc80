/**
 * Renders the chart of a results file again (e.g. after replacing a scenario with a rerun of it):
 *
 * npx node benchmarks/discovery-latency/render.ts benchmarks/results/discovery-latency.json
 */
import { readFile, writeFile } from 'node:fs/promises'
import { renderLatencyChart } from './chart.ts'
import type { RunOneResult } from './run-one.ts'

const file = process.argv[2] ?? 'benchmarks/results/discovery-latency.json'
const data = JSON.parse(await readFile(file, 'utf8')) as { meta: { startedAt: string, loadavgBefore: number[], plan: { scenarios: Array<{ transport: 'memory' | 'tcp', nodes: number }>, boundMs: number } }, runs: RunOneResult[] }
const svg = renderLatencyChart(data.runs, data.meta.plan.scenarios, data.meta.plan.boundMs, data.meta.loadavgBefore[0], new Date(data.meta.startedAt))
const out = file.replace(/\.json$/, '.svg')
await writeFile(out, svg)
process.stdout.write(`wrote ${out}\n`)
