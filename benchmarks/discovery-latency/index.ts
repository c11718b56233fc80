/**
 * Discovery latency, every method side by side in one run: for each transport and size, each method runs in its
 * own child process (so CPU and peak memory are its own), one after another, interleaved so that a change in
 * the machine's load hits every method alike. Prints tables, writes JSON and an SVG chart.
 *
 * npx node benchmarks/discovery-latency/index.ts [--quick] [--methods a,b] [--sizes 10,50] [--transports memory,tcp]
 * [--bound ms] [--freshness-bound ms] [--relays n] [--out name]
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS, parseArgs, runChild } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { fmtMs, summarize } from '../lib/stats.ts'
import { formatTable } from '../lib/table.ts'
import { renderLatencyChart } from './chart.ts'
import type { RunOneResult } from './run-one.ts'
import type { TransportName } from '../lib/nodes.ts'
import type { LatencySummary } from '../lib/stats.ts'

/** Every method, in table order. A method module that is missing is reported and skipped */
export const METHODS = [
  'ring-floor',
  'handshake-floor',
  'hub-only',
  'rendezvous',
  'pubsub-peer-discovery',
  'pubsub-peer-discovery-1s',
  'kad-dht'
]

/** The method every other is compared with ("x floor") */
const FLOOR = 'ring-floor'

/** The window the request rate of nodes at quota is given per (the default satisfiedDiscoverInterval) */
const RATE_WINDOW_MS = 30_000

interface Plan {
  scenarios: Array<{ transport: TransportName, nodes: number }>
  boundMs: number
  freshnessBoundMs: number
  relayCount: number
  relayBoundMs: number
}

/** Proves every method still runs, within CI's two minutes with the server suite; too short to quote */
const QUICK: Plan = {
  scenarios: [{ transport: 'memory', nodes: 10 }],
  boundMs: 12_000,
  freshnessBoundMs: 2000,
  relayCount: 1,
  relayBoundMs: 4000
}

const FULL: Plan = {
  scenarios: [
    { transport: 'memory', nodes: 10 },
    { transport: 'memory', nodes: 50 },
    { transport: 'memory', nodes: 100 },
    { transport: 'tcp', nodes: 10 },
    { transport: 'tcp', nodes: 50 }
  ],
  boundMs: 60_000,
  // a node at quota queries every 30 s by default: the window must hold one whole period
  freshnessBoundMs: 35_000,
  relayCount: 10,
  relayBoundMs: 20_000
}

export interface ScenarioSummary {
  method: string
  label: string
  transport: TransportName
  nodes: number
  infra: LatencySummary
  firstPeer: LatencySummary
  quota: LatencySummary
  never: number
  cpuMs: number
  /** CPU of the quota phase (common start to the last node at quota), in ms, for all nodes and infrastructure */
  quotaCpuMs?: number
  /** Connections per node to other measured nodes at the end of the quota phase */
  connections?: { mean: number, max: number }
  peakRssMiB: number
  /** Worst event loop delay during the run, in ms (all nodes share the loop) */
  loopDelayMaxMs: number
  freshness?: {
    observers: number
    found: LatencySummary
    /** From the late node's registration at the infrastructure, when known */
    afterRegistration?: LatencySummary
    /** DISCOVERs per observer per 30 s during the phase, when the infrastructure counts them */
    discoverRate?: number
  }
  relay?: { reservation: LatencySummary, never: number, registeredAfter?: LatencySummary }
  notes: string[]
}

function summarizeRun (run: RunOneResult): ScenarioSummary {
  const nodes = run.result.nodes
  const values = (pick: (n: typeof nodes[number]) => number | null): number[] => nodes.map(pick).filter((v): v is number => v != null)
  const quota = values(n => n.quotaMs)
  return {
    method: run.method,
    label: run.label,
    transport: run.env.transport,
    nodes: run.env.nodes,
    infra: summarize(values(n => n.infraMs)),
    firstPeer: summarize(values(n => n.firstPeerMs)),
    quota: summarize(quota),
    never: nodes.length - quota.length,
    cpuMs: run.resources.cpuMs,
    quotaCpuMs: run.result.quotaPhase?.cpuMs,
    connections: run.result.quotaPhase == null
      ? undefined
      : {
          mean: run.result.quotaPhase.connections.reduce((a, b) => a + b, 0) / Math.max(1, run.result.quotaPhase.connections.length),
          max: Math.max(0, ...run.result.quotaPhase.connections)
        },
    peakRssMiB: run.resources.peakRssMiB,
    loopDelayMaxMs: run.resources.loopDelayMs.max,
    freshness: summarizeFreshness(run),
    relay: run.relay == null
      ? undefined
      : {
          reservation: summarize(run.relay.reservationMs.filter((v): v is number => v != null)),
          never: run.relay.reservationMs.filter(v => v == null).length,
          registeredAfter: run.relay.registeredAfterMs == null ? undefined : summarize(run.relay.registeredAfterMs.filter((v): v is number => v != null))
        },
    notes: run.result.notes ?? []
  }
}

function summarizeFreshness (run: RunOneResult): ScenarioSummary['freshness'] {
  const freshness = run.result.freshness

  if (freshness == null) {
    return undefined
  }

  const discovers = freshness.requests?.discover
  return {
    observers: freshness.observers,
    found: summarize(freshness.foundMs),
    afterRegistration: freshness.foundAfterRegistrationMs == null ? undefined : summarize(freshness.foundAfterRegistrationMs),
    discoverRate: discovers == null || freshness.durationMs == null || freshness.observers === 0
      ? undefined
      : discovers / freshness.observers / (freshness.durationMs / RATE_WINDOW_MS)
  }
}

/** `value / floor`, to one decimal, or `-` */
function ratio (value: number | null | undefined, floor: number | null | undefined): string {
  return value == null || floor == null || floor === 0 ? '-' : `${(value / floor).toFixed(2)}x`
}

const here = fileURLToPath(new URL('.', import.meta.url))
const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const plan = { ...(quick ? QUICK : FULL) }
if (args.has('sizes') || args.has('transports')) {
  const sizes = (args.get('sizes') ?? '10').split(',').map(Number)
  const transports = (args.get('transports') ?? 'memory').split(',') as TransportName[]
  plan.scenarios = transports.flatMap(transport => sizes.map(nodes => ({ transport, nodes })))
}
if (args.has('bound')) {
  plan.boundMs = Number(args.get('bound'))
}
if (args.has('freshness-bound')) {
  plan.freshnessBoundMs = Number(args.get('freshness-bound'))
}
if (args.has('relays')) {
  plan.relayCount = Number(args.get('relays'))
}
const methods = args.get('methods')?.split(',') ?? METHODS
const outName = args.get('out') ?? (quick ? 'quick/discovery-latency' : 'discovery-latency')

const startedAt = new Date()
const loadBefore = loadavg()
const runs: RunOneResult[] = []
const failures: Array<{ method: string, transport: string, nodes: number, error: string }> = []

const available = methods.filter(method => {
  if (existsSync(`${here}methods/${method}.ts`)) {
    return true
  }
  progress(`method ${method} is not there (methods/${method}.ts): skipped`)
  return false
})

for (const [index, scenario] of plan.scenarios.entries()) {
  // relay-needing nodes always run on TCP and do not depend on N: measure them once, with the first scenario
  const relayCount = index === 0 ? plan.relayCount : 0
  for (const method of available) {
    const childArgs = [
      '--method', method,
      '--transport', scenario.transport,
      '--nodes', String(scenario.nodes),
      '--bound', String(plan.boundMs),
      '--freshness', '--freshness-bound', String(plan.freshnessBoundMs),
      '--relay', String(relayCount), '--relay-bound', String(plan.relayBoundMs)
    ]
    const limit = plan.boundMs + plan.freshnessBoundMs + plan.relayBoundMs + 60_000
    const outcome = await runChild<RunOneResult>(`${here}run-one.ts`, childArgs, limit, NODE_FLAGS)
    if (outcome.result != null) {
      runs.push(outcome.result)
    } else {
      progress(`${method} (${scenario.nodes} on ${scenario.transport}) gave no result: ${outcome.error}`)
      failures.push({ method, ...scenario, error: outcome.error ?? 'unknown' })
    }
  }
}

const summaries = runs.map(summarizeRun)
const loadAfter = loadavg()

for (const scenario of plan.scenarios) {
  const rows = summaries.filter(s => s.transport === scenario.transport && s.nodes === scenario.nodes)
  if (rows.length === 0) {
    continue
  }
  const floor = rows.find(s => s.method === FLOOR)
  print()
  print(`### ${scenario.nodes} nodes on ${scenario.transport}: time to 6 connected topic peers (ms), CPU and connections until every node had them`)
  print()
  print(formatTable(
    ['method', 'to infra p50', 'first peer p50', 'quota p50', 'p95', 'p95 x floor', 'max', 'never', 'conns/node mean', 'max', 'CPU s to quota', 'CPU x floor', 'CPU ms/node', 'CPU s all', 'peak RSS MiB', 'loop stall max'],
    rows.map(s => [
      s.label,
      fmtMs(s.infra.p50),
      fmtMs(s.firstPeer.p50),
      fmtMs(s.quota.p50),
      fmtMs(s.quota.p95),
      ratio(s.quota.p95, floor?.quota.p95),
      fmtMs(s.quota.max),
      `${s.never}/${s.nodes}`,
      s.connections == null ? '-' : s.connections.mean.toFixed(1),
      s.connections == null ? '-' : String(s.connections.max),
      s.quotaCpuMs == null ? '-' : (s.quotaCpuMs / 1000).toFixed(2),
      ratio(s.quotaCpuMs, floor?.quotaCpuMs),
      s.quotaCpuMs == null ? '-' : (s.quotaCpuMs / s.nodes).toFixed(0),
      (s.cpuMs / 1000).toFixed(1),
      s.peakRssMiB.toFixed(0),
      fmtMs(s.loopDelayMaxMs)
    ])
  ))

  const fresh = rows.filter(s => s.freshness != null)
  if (fresh.length > 0) {
    print()
    print(`${scenario.nodes} nodes on ${scenario.transport}, freshness: a node started later, and how long the nodes at quota take to learn of it (ms)`)
    print()
    print(formatTable(
      ['method', 'found', 'p50', 'max', 'after its registration p50', 'max', 'DISCOVER per node per 30 s'],
      fresh.map(s => [
        s.label,
        s.freshness == null || s.freshness.observers === 0 ? '-' : `${s.freshness.found.count}/${s.freshness.observers}`,
        fmtMs(s.freshness?.found.p50),
        fmtMs(s.freshness?.found.max),
        fmtMs(s.freshness?.afterRegistration?.p50),
        fmtMs(s.freshness?.afterRegistration?.max),
        s.freshness?.discoverRate == null ? '-' : s.freshness.discoverRate.toFixed(2)
      ])
    ))
  }
}

const relayRows = summaries.filter(s => s.relay != null)
if (relayRows.length > 0) {
  print()
  print('### Relay: time until a node with no listen address holds a reservation and advertises a circuit address (ms, TCP)')
  print()
  print(formatTable(
    ['method', 'nodes', 'p50', 'p95', 'max', 'never', 'registered after the reservation p50', 'max'],
    relayRows.map(s => [s.label, String((s.relay?.reservation.count ?? 0) + (s.relay?.never ?? 0)), fmtMs(s.relay?.reservation.p50), fmtMs(s.relay?.reservation.p95), fmtMs(s.relay?.reservation.max), `${s.relay?.never}/${(s.relay?.never ?? 0) + (s.relay?.reservation.count ?? 0)}`, fmtMs(s.relay?.registeredAfter?.p50), fmtMs(s.relay?.registeredAfter?.max)])
  ))
}

for (const failure of failures) {
  print(`\n${failure.method} at ${failure.nodes} nodes on ${failure.transport}: no result (${failure.error})`)
}

const meta = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  loadavgBefore: loadBefore,
  loadavgAfter: loadAfter,
  quick,
  plan,
  methods
}

const resultsDir = new URL('../results/', import.meta.url)
const jsonPath = new URL(`${outName}.json`, resultsDir)
const svgPath = new URL(`${outName}.svg`, resultsDir)
await mkdir(new URL('.', jsonPath), { recursive: true })
await writeFile(jsonPath, JSON.stringify({ meta, summaries, failures, runs }, null, 2))

const svg = renderLatencyChart(runs, plan.scenarios, plan.boundMs, loadBefore[0], startedAt)
await writeFile(svgPath, svg)

print()
print(`wrote ${fileURLToPath(jsonPath)} and ${fileURLToPath(svgPath)}`)
