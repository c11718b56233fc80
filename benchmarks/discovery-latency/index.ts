/**
 * Discovery latency, every method side by side in one run: for each transport and size, each method runs in its
 * own child process (so CPU and peak memory are its own), one after another, interleaved so that a change in
 * the machine's load hits every method alike. Prints tables, writes JSON and an SVG chart.
 *
 * npx node benchmarks/discovery-latency/index.ts [--quick] [--methods a,b] [--sizes 10,50] [--transports memory,tcp]
 * [--bound ms] [--freshness-bound ms] [--relays n] [--runs n] [--out name]
 *
 * With `--runs n` every scenario runs n rounds of all methods (interleaved, so a change in load hits each round
 * alike); the tables then give the median over the rounds of each figure, and the p95 of every round.
 *
 * Exit code: 1 when a method's run gave no result, when no node of a run reached its quota (its infrastructure
 * for hub-only, which reaches no quota by design): the run measured nothing; or when a method's module is missing.
 * How slow a method is never fails it.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS, parseArgs, runChild } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { runMeta } from '../lib/run-meta.ts'
import { fmtMs, medianOf, summarize } from '../lib/stats.ts'
import { formatTable } from '../lib/table.ts'
import { renderLatencyChart } from './chart.ts'
import type { RunOneResult } from './run-one.ts'
import type { TransportName } from '../lib/nodes.ts'
import type { LatencySummary } from '../lib/stats.ts'

/** Every method, in table order. A method module that is missing is reported, and fails the run */
export const METHODS = [
  'ring-floor',
  'handshake-floor',
  'hub-only',
  'rendezvous',
  'pubsub-peer-discovery',
  'pubsub-peer-discovery-1s',
  'kad-dht'
]

/** The methods in which no node reaches the quota by design: hub-only connects to the hub and measures that alone */
const WITHOUT_QUOTA = new Set(['hub-only'])

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
  /** Rounds of every method per scenario */
  runs: number
}

/** Proves every method still runs, within CI's two minutes with the server suite; too short to quote */
const QUICK: Plan = {
  scenarios: [{ transport: 'memory', nodes: 10 }],
  boundMs: 12_000,
  freshnessBoundMs: 2000,
  relayCount: 1,
  relayBoundMs: 4000,
  runs: 1
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
  relayBoundMs: 20_000,
  runs: 1
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
    /** The most DISCOVERs one observer sent during the phase, when the method can tell */
    mostQueries?: number
    /** The shortest time between two DISCOVERs of one observer during the phase, in ms */
    shortestQueryGapMs?: number
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
      : discovers / freshness.observers / (freshness.durationMs / RATE_WINDOW_MS),
    mostQueries: freshness.queriesPerObserver == null ? undefined : Math.max(0, ...freshness.queriesPerObserver),
    shortestQueryGapMs: freshness.shortestQueryGapMs
  }
}

/** One method's rounds of one scenario: each figure the median over the rounds (counts and maxima summed or maxed) */
interface CombinedSummary {
  method: string
  label: string
  nodes: number
  infraP50: number | null
  firstPeerP50: number | null
  quotaP50: number | null
  quotaP95: number | null
  /** The p95 of every round, in run order */
  quotaP95s: Array<number | null>
  quotaMax: number | null
  never: number
  connectionsMean: number | null
  connectionsMax: number | null
  quotaCpuMs: number | null
  cpuMs: number | null
  peakRssMiB: number | null
  loopDelayMaxMs: number | null
  freshness?: { observers: number, found: number, foundP50: number | null, foundMax: number | null, afterRegistrationP50: number | null, afterRegistrationMax: number | null, discoverRate: number | null, mostQueries: number | null, shortestQueryGapMs: number | null }
  relay?: { nodes: number, never: number, p50: number | null, p95: number | null, max: number | null, registeredAfterP50: number | null, registeredAfterMax: number | null }
}

function minOf (values: Array<number | null | undefined>): number | null {
  const present = values.filter((v): v is number => v != null)
  return present.length === 0 ? null : Math.min(...present)
}

function maxOf (values: Array<number | null | undefined>): number | null {
  const present = values.filter((v): v is number => v != null)
  return present.length === 0 ? null : Math.max(...present)
}

/** Groups the summaries by method, in the order the methods first appear, and combines each method's rounds */
function combineRounds (summaries: ScenarioSummary[]): CombinedSummary[] {
  const byMethod = new Map<string, ScenarioSummary[]>()
  for (const s of summaries) {
    byMethod.set(s.method, [...(byMethod.get(s.method) ?? []), s])
  }

  return [...byMethod.values()].map(rounds => {
    const fresh = rounds.flatMap(s => s.freshness == null ? [] : [s.freshness])
    const relays = rounds.flatMap(s => s.relay == null ? [] : [s.relay])
    return {
      method: rounds[0].method,
      label: rounds[0].label,
      nodes: rounds.reduce((sum, s) => sum + s.nodes, 0),
      infraP50: medianOf(rounds.map(s => s.infra.p50)),
      firstPeerP50: medianOf(rounds.map(s => s.firstPeer.p50)),
      quotaP50: medianOf(rounds.map(s => s.quota.p50)),
      quotaP95: medianOf(rounds.map(s => s.quota.p95)),
      quotaP95s: rounds.map(s => s.quota.p95),
      quotaMax: maxOf(rounds.map(s => s.quota.max)),
      never: rounds.reduce((sum, s) => sum + s.never, 0),
      connectionsMean: medianOf(rounds.map(s => s.connections?.mean)),
      connectionsMax: maxOf(rounds.map(s => s.connections?.max)),
      quotaCpuMs: medianOf(rounds.map(s => s.quotaCpuMs)),
      cpuMs: medianOf(rounds.map(s => s.cpuMs)),
      peakRssMiB: medianOf(rounds.map(s => s.peakRssMiB)),
      loopDelayMaxMs: maxOf(rounds.map(s => s.loopDelayMaxMs)),
      freshness: fresh.length === 0
        ? undefined
        : {
            observers: fresh.reduce((sum, f) => sum + f.observers, 0),
            found: fresh.reduce((sum, f) => sum + f.found.count, 0),
            foundP50: medianOf(fresh.map(f => f.found.p50)),
            foundMax: maxOf(fresh.map(f => f.found.max)),
            afterRegistrationP50: medianOf(fresh.map(f => f.afterRegistration?.p50)),
            afterRegistrationMax: maxOf(fresh.map(f => f.afterRegistration?.max)),
            discoverRate: medianOf(fresh.map(f => f.discoverRate)),
            mostQueries: maxOf(fresh.map(f => f.mostQueries)),
            shortestQueryGapMs: minOf(fresh.map(f => f.shortestQueryGapMs))
          },
      relay: relays.length === 0
        ? undefined
        : {
            nodes: relays.reduce((sum, r) => sum + r.reservation.count + r.never, 0),
            never: relays.reduce((sum, r) => sum + r.never, 0),
            p50: medianOf(relays.map(r => r.reservation.p50)),
            p95: medianOf(relays.map(r => r.reservation.p95)),
            max: maxOf(relays.map(r => r.reservation.max)),
            registeredAfterP50: medianOf(relays.map(r => r.registeredAfter?.p50)),
            registeredAfterMax: maxOf(relays.map(r => r.registeredAfter?.max))
          }
    }
  })
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
if (args.has('runs')) {
  plan.runs = Math.max(1, Number(args.get('runs')))
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
  progress(`method ${method} is not there (methods/${method}.ts)`)
  failures.push({ method, transport: '-', nodes: 0, error: `no module methods/${method}.ts` })
  return false
})

for (const [index, scenario] of plan.scenarios.entries()) {
  // relay-needing nodes always run on TCP and do not depend on N: measure them with the first scenario only
  const relayCount = index === 0 ? plan.relayCount : 0
  for (let round = 0; round < plan.runs; round++) {
    if (plan.runs > 1) {
      progress(`${scenario.nodes} nodes on ${scenario.transport}: round ${round + 1}/${plan.runs}`)
    }
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
}

const summaries = runs.map(summarizeRun)

// a run in which no node reached what its method measures produced no figure
for (const summary of summaries) {
  const measured = WITHOUT_QUOTA.has(summary.method) ? summary.infra.count : summary.quota.count
  if (measured === 0) {
    failures.push({ method: summary.method, transport: summary.transport, nodes: summary.nodes, error: `none of its ${summary.nodes} nodes reached ${WITHOUT_QUOTA.has(summary.method) ? 'the hub' : 'the quota'} within ${plan.boundMs} ms` })
  }
}
const loadAfter = loadavg()

for (const scenario of plan.scenarios) {
  const rows = combineRounds(summaries.filter(s => s.transport === scenario.transport && s.nodes === scenario.nodes))
  if (rows.length === 0) {
    continue
  }
  const floor = rows.find(s => s.method === FLOOR)
  const rounds = plan.runs > 1 ? `, median of ${plan.runs} rounds` : ''
  print()
  print(`### ${scenario.nodes} nodes on ${scenario.transport}: time to 6 connected topic peers (ms), CPU and connections until every node had them${rounds}`)
  print()
  print(formatTable(
    ['method', 'to infra p50', 'first peer p50', 'quota p50', 'p95', 'p95 x floor', 'p95 each round', 'max', 'never', 'conns/node mean', 'max', 'CPU s to quota', 'CPU x floor', 'CPU ms/node', 'CPU s all', 'peak RSS MiB', 'loop stall max'],
    rows.map(s => [
      s.label,
      fmtMs(s.infraP50),
      fmtMs(s.firstPeerP50),
      fmtMs(s.quotaP50),
      fmtMs(s.quotaP95),
      ratio(s.quotaP95, floor?.quotaP95),
      s.quotaP95s.map(fmtMs).join(' / '),
      fmtMs(s.quotaMax),
      `${s.never}/${s.nodes}`,
      s.connectionsMean == null ? '-' : s.connectionsMean.toFixed(1),
      s.connectionsMax == null ? '-' : String(s.connectionsMax),
      s.quotaCpuMs == null ? '-' : (s.quotaCpuMs / 1000).toFixed(2),
      ratio(s.quotaCpuMs, floor?.quotaCpuMs),
      s.quotaCpuMs == null ? '-' : (s.quotaCpuMs / scenario.nodes).toFixed(0),
      s.cpuMs == null ? '-' : (s.cpuMs / 1000).toFixed(1),
      s.peakRssMiB == null ? '-' : s.peakRssMiB.toFixed(0),
      fmtMs(s.loopDelayMaxMs)
    ])
  ))

  const ours = rows.find(s => s.method === 'rendezvous')
  for (const other of rows.filter(s => s.method.startsWith('pubsub-peer-discovery'))) {
    if (ours?.quotaP95 != null && other.quotaP95 != null) {
      print(`\n${ours.label} p95 is ${(other.quotaP95 / ours.quotaP95).toFixed(2)}x faster than ${other.label}`)
    }
  }

  const fresh = rows.filter(s => s.freshness != null)
  if (fresh.length > 0) {
    print()
    print(`${scenario.nodes} nodes on ${scenario.transport}, freshness: a node started later, and how long the nodes at quota take to learn of it (ms${rounds})`)
    print()
    print(formatTable(
      ['method', 'found', 'p50', 'max', 'after its registration p50', 'max', 'DISCOVER per node per 30 s (all at the server)', 'most DISCOVERs of one node', 'shortest gap between two (s)'],
      fresh.map(s => [
        s.label,
        s.freshness == null || s.freshness.observers === 0 ? '-' : `${s.freshness.found}/${s.freshness.observers}`,
        fmtMs(s.freshness?.foundP50),
        fmtMs(s.freshness?.foundMax),
        fmtMs(s.freshness?.afterRegistrationP50),
        fmtMs(s.freshness?.afterRegistrationMax),
        s.freshness?.discoverRate == null ? '-' : s.freshness.discoverRate.toFixed(2),
        s.freshness?.mostQueries == null ? '-' : String(s.freshness.mostQueries),
        s.freshness?.shortestQueryGapMs == null ? '-' : (s.freshness.shortestQueryGapMs / 1000).toFixed(1)
      ])
    ))
  }
}

const relayRows = combineRounds(summaries.filter(s => s.relay != null))
if (relayRows.length > 0) {
  print()
  print('### Relay: time until a node with no listen address holds a reservation and advertises a circuit address (ms, TCP)')
  print()
  print(formatTable(
    ['method', 'nodes', 'p50', 'p95', 'max', 'never', 'registered after the reservation p50', 'max'],
    relayRows.map(s => [s.label, String(s.relay?.nodes ?? 0), fmtMs(s.relay?.p50), fmtMs(s.relay?.p95), fmtMs(s.relay?.max), `${s.relay?.never}/${s.relay?.nodes ?? 0}`, fmtMs(s.relay?.registeredAfterP50), fmtMs(s.relay?.registeredAfterMax)])
  ))
}

for (const failure of failures) {
  print(`\nfailed: ${failure.method} at ${failure.nodes} nodes on ${failure.transport}: no result (${failure.error})`)
}

const meta = {
  ...runMeta(startedAt, loadBefore, loadAfter),
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
process.exitCode = failures.length === 0 && runs.length > 0 ? 0 : 1
