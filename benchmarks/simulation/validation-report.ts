/**
 * The tables of the validation against real multi-process runs (validate-real.ts), as markdown: real against
 * simulated with the ratio and the goal beside each figure, what the calibration measured and how, and the run
 * times; and the generated sections of the docs they feed.
 */
import { formatTable } from '../lib/table.ts'
import type { Figures, ValidationCase, ValidationResults } from './validate-real.ts'

/** The goal: every compared figure within 25% of the real one */
export const GOAL = 0.25

function ms (value: number | null | undefined): string {
  if (value == null) {
    return '-'
  }

  if (!Number.isFinite(value)) {
    return 'never'
  }

  return Math.round(value).toLocaleString('en-US')
}

function fixed (value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function seconds (value: number): string {
  return fixed(value / 1000, 1)
}

interface Row {
  label: string
  get(f: Figures): number | null
  format(v: number | null): string
  /** A figure the goal is about */
  goal: boolean
}

const ROWS: Row[] = [
  { label: 'time to quota p50 (ms)', get: f => f.p50, format: ms, goal: true },
  { label: 'time to quota p95 (ms)', get: f => f.p95, format: ms, goal: true },
  { label: 'REGISTER until all at quota', get: f => f.register, format: ms, goal: true },
  { label: 'DISCOVER until all at quota', get: f => f.discover, format: ms, goal: true },
  { label: 'until the last node at quota (ms)', get: f => f.untilAllMs, format: ms, goal: false },
  { label: 'CPU of the node groups until then (s)', get: f => f.groupsCpuMs, format: v => v == null ? '-' : seconds(v), goal: false },
  { label: 'CPU of the point until then (s)', get: f => f.pointCpuMs, format: v => v == null ? '-' : seconds(v), goal: false }
]

function ratioOf (real: number | null, simulated: number | null): number | null {
  if (real == null || simulated == null || !Number.isFinite(real) || !Number.isFinite(simulated) || real === 0) {
    return null
  }

  return simulated / real
}

function verdict (ratio: number | null): string {
  if (ratio == null) {
    return 'no figure'
  }

  return Math.abs(ratio - 1) <= GOAL ? 'met' : '**missed**'
}

function caseName (c: ValidationCase): string {
  return `${c.nodes} nodes, ${c.groups.length} processes (${c.groups.join('/')}), ${c.layout === 'loopback' ? 'loopback' : `hosts, point ${c.pointDelayMs} ms away`}`
}

/** Real against simulated: medians of the rounds, each round's figure, the ratio and the goal */
export function comparisonTable (cases: ValidationCase[]): string {
  const rows: string[][] = []

  for (const c of cases) {
    for (const row of ROWS) {
      const real = row.get(c.real)
      const simulated = row.get(c.simulated)
      const ratio = ratioOf(real, simulated)
      rows.push([
        String(c.nodes),
        row.label,
        row.format(real),
        c.rounds.map(r => row.format(row.get(r.real))).join(' / '),
        row.format(simulated),
        c.rounds.map(r => row.format(row.get(r.simulated))).join(' / '),
        ratio == null ? '-' : fixed(ratio, 2),
        row.goal ? `${verdict(ratio)} (0.75-1.25)` : '-'
      ])
    }
  }

  return formatTable(['nodes', 'quantity', 'real', 'real, each round', 'simulated', 'simulated, each round', 'simulated / real', 'goal: within 25%'], rows)
}

/** What the calibration measured, per case, and how each figure was obtained */
export function calibrationTable (cases: ValidationCase[]): string {
  const rows: string[][] = []
  const pair = (a: number, b: number, digits: number): string => `${fixed(a, digits)} / ${fixed(b, digits)}`
  const how: Array<[string, (c: ValidationCase) => string, (c: ValidationCase) => string, string]> = [
    ['cores', c => `${fixed(c.calibration.cores, 2)} (${c.rounds.map(r => fixed(r.cores, 2)).join(', ')})`, c => c.calibration.coreProbes.map(p => fixed(p, 2)).join(', '),
      'the machine\'s cores less the CPU other work took during each real round (/proc/stat less the round\'s processes), the simulated round\'s; median (each round). Beside: as many busy loops as cores, 1 s, before the calibration and before each round (no measure of what a round gets: other work comes and goes)'],
    ['node start, per node', c => fixed(c.calibration.costs.nodeStartMs, 1), () => '-',
      'CPU of two node groups of 12 from their configuration to their ready line (no point given: no discovery work), per node'],
    ['connection, dialer / dialed', c => pair(c.calibration.costs.connection.dialerMs, c.calibration.costs.connection.listenerMs, 1), c => pair(c.calibration.connectionAlone.dialerMs, c.calibration.connectionAlone.listenerMs, 1),
      'CPU of each group while 8 pairs connect at once (the group\'s ping command dials; until both ends list the other as subscribed), less idle, per connection: median of 6 batches (48 connections); alone: median of 4 one at a time'],
    ['connection to the point, node / point', c => pair(c.calibration.costs.pointConnection.dialerMs, c.calibration.costs.pointConnection.pointMs, 1), c => pair(c.calibration.requestsAlone.pointConnection.dialerMs, c.calibration.requestsAlone.pointConnection.pointMs, 1),
      '30 client nodes (request-peers.ts) connect 8 at a time, each with an empty DISCOVER, less an empty DISCOVER on an open connection; the point\'s CPU from /proc; alone: 30 one after the other'],
    ['REGISTER, client / point', c => pair(c.calibration.costs.register.clientMs, c.calibration.costs.register.pointMs, 2), c => pair(c.calibration.requestsAlone.register.clientMs, c.calibration.requestsAlone.register.pointMs, 2),
      'first REGISTERs of 30 client nodes, 8 at a time; alone: one at a time'],
    ['DISCOVER, client / point', c => pair(c.calibration.costs.discover.clientMs, c.calibration.costs.discover.pointMs, 2), c => pair(c.calibration.requestsAlone.discover.clientMs, c.calibration.requestsAlone.discover.pointMs, 2),
      'DISCOVERs of an empty namespace on open connections, 8 at a time; alone: 30 from one node'],
    ['DISCOVER per record returned, client / point', c => pair(c.calibration.costs.discover.clientPerRecordMs, c.calibration.costs.discover.pointPerRecordMs, 3), c => pair(c.calibration.requestsAlone.discover.clientPerRecordMs, c.calibration.requestsAlone.discover.pointPerRecordMs, 3),
      'DISCOVERs returning the 60 records registered less the empty ones, per record (the client checks each record\'s signature; the point\'s share is under /proc\'s 10 ms resolution)'],
    ['idle, per node / per connection, per s', c => pair(c.calibration.costs.idle.perNodeMs, c.calibration.costs.idle.perConnectionMs, 2), () => '-',
      'CPU of the two groups left alone 4 s, before and after each node holds 4 connections (gossipsub\'s heartbeat, pings, the group\'s quota poll)'],
    ['round trip node to node', c => fixed(c.calibration.costs.latency.nodeRttMs, 2), () => '-', 'libp2p ping, mean of 20'],
    ['delay of a connection to the point / of a request', c => pair(c.calibration.costs.latency.pointConnectMs, c.calibration.costs.latency.pointRequestMs, 1), () => '-',
      'wall time less the CPU of both ends, one at a time (the point has no ping service)']
  ]

  for (const c of cases) {
    for (const [label, used, alone, method] of how) {
      rows.push([`${c.nodes}, ${c.layout}`, label, used(c), alone(c), method])
    }
  }

  return formatTable(['case', 'figure (ms)', 'model', 'one at a time', 'how it was measured'], rows)
}

/** Wall time of each part of each case */
export function runTimeTable (cases: ValidationCase[]): string {
  return formatTable(['case', 'calibration s', 'real rounds s (each: until all at quota)', 'simulated rounds s (each)', 'case s'], cases.map(c => [
    caseName(c),
    seconds(c.calibration.wallMs),
    c.rounds.map(r => seconds(r.realDetail.untilAllMs)).join(' / '),
    c.rounds.map(r => fixed(r.simulatedWallMs / 1000, 1)).join(' / '),
    seconds(c.wallMs)
  ]))
}

function spread (values: number[] | undefined): string {
  if (values == null || values.length === 0) {
    return '-'
  }

  const sorted = [...values].sort((a, b) => a - b)
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return `${fixed(mean, 1)} (${sorted[0]}-${sorted[sorted.length - 1]})`
}

/**
 * Where the two sides differ beyond the compared figures, round by round: the DISCOVERs sent and answered when the
 * last node reached its quota (real: the modules' own count beside the point's; simulated: sent beside answered,
 * the difference in flight), how long the simulated processes' pieces of work waited, each node's DISCOVERs and
 * connections at the end (mean, range), the errors the real nodes' modules last saw, and where the simulated CPU
 * went
 */
export function diagnosticsTable (cases: ValidationCase[]): string {
  const rows: string[][] = []

  for (const c of cases) {
    for (const r of c.rounds) {
      const real = r.realDetail.nodes
      const sim = r.simulatedDetail
      const cpu = sim.cpuByKind
      const kinds = cpu == null ? '-' : Object.entries(cpu.groups).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${seconds(v)}`).join(', ')
      const wait = sim.waitByKind
      const waits = wait == null
        ? '-'
        : ['discover', 'register', 'records', 'connection', 'point connection'].map(kind => `${kind} ${ms(wait.groups[kind]?.meanMs)} / ${ms(wait.point[kind]?.meanMs)}`).join(', ')
      const realSent = real?.discovers.reduce((a, b) => a + b, 0)
      rows.push([
        `${c.nodes}, ${c.layout}, ${r.round}`,
        `${realSent ?? '-'} / ${r.real.discover}; ${sim.untilAllAtQuota?.discover ?? '-'} / ${sim.untilAllAtQuota?.answered.discover ?? '-'}`,
        waits,
        `${spread(real?.discovers)} / ${spread(sim.nodes?.discovers)}`,
        `${spread(real?.connections)} / ${spread(sim.nodes?.connections)}`,
        `${sim.dials.refusedPending} refused at a peer's or the point's pending limit, ${sim.dials.opened} connections`,
        real == null ? '-' : Object.entries(real.errors).map(([e, n]) => `${n}x ${e}`).join('; ') || 'none',
        kinds
      ])
    }
  }

  return formatTable(['case, round', 'DISCOVERs the nodes counted / the point answered, real; sent / answered, simulated', 'simulated mean ms from queued to done, in the groups / at the point', 'DISCOVERs per node, real / simulated', 'connections per node, real / simulated', 'simulated dials', 'real: last errors of the modules', 'simulated CPU of the groups by kind (s)'], rows)
}

/**
 * Where a profiled real round's CPU went (profiles cover each process's whole life, start-up and stop included)
 * beside where the simulated rounds put theirs
 */
export function profileTable (cases: ValidationCase[]): string {
  const rows: string[][] = []

  for (const c of cases) {
    const profiled = c.profiled

    if (profiled == null) {
      continue
    }

    for (const [kind, { totalMs, parts }] of Object.entries(profiled.byKind)) {
      for (const [part, ms] of Object.entries(parts).sort((a, b) => b[1] - a[1])) {
        if (ms / totalMs >= 0.01) {
          rows.push([`${c.nodes}, ${c.layout}`, kind, part, seconds(ms), `${fixed(100 * ms / totalMs, 0)}%`])
        }
      }
    }
  }

  return formatTable(['case', 'process', 'part of the code', 'CPU s', 'share'], rows)
}

export function validationTables (results: ValidationResults): string {
  const { cases } = results
  return [
    `\n### The simulator against real multi-process runs (${results.meta.rounds as number} rounds each, medians)\n`,
    cases.map(c => `- ${caseName(c)}`).join('\n'),
    '',
    comparisonTable(cases),
    '\n### What the simulator was given (the calibration of the same run)\n',
    calibrationTable(cases),
    '\n### Diagnostics\n',
    diagnosticsTable(cases),
    ...(cases.some(c => c.profiled != null) ? ['\n### A profiled real round (not compared: profiling slows every process)\n', profileTable(cases)] : []),
    '\n### Run times\n',
    runTimeTable(cases)
  ].join('\n')
}

/** The generated sections, per file */
export function validationDocs (results: ValidationResults): Array<[URL, string]> {
  const meta = results.meta
  const when = `Run of ${String(meta.startedAt).slice(0, 16).replace('T', ' ')} UTC (${meta.cpus as number} cores, load average ${(meta.loadavgBefore as number[])[0].toFixed(1)} before, ${(meta.loadavgAfter as number[])[0].toFixed(1)} after), \`npm run bench -- --only validate-real\`; raw results: benchmarks/results/simulation-validation.json.`
  const body = [when, '', comparisonTable(results.cases), '', 'What the simulator was given, measured by the calibration step of the same run:', '', calibrationTable(results.cases), '', runTimeTable(results.cases)].join('\n')
  return [
    new URL('./README.md', import.meta.url),
    new URL('../../docs/sizing.md', import.meta.url)
  ].map(file => [file, body])
}
