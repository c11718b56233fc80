/**
 * The simulator against real multi-process runs: the `validate-real` step of `npm run bench`, and what
 * `npm run simulate -- --scenarios validate` runs. For each size (50 nodes in 4 node-group processes, 200 in 8) it
 *
 * 1. calibrates the simulator's process model on this machine, in this layout (real/calibrate.ts): cores, node
 * start, connection and request CPU at each end, idle cost, delays;
 * 2. runs `--rounds` real rounds (real/multi-process-run.ts: a `rendezvous-server` process and the node groups,
 * started together, each node in one topic with the quota of 6, defaults) and as many simulated ones (run-one.ts,
 * the same node groups, the calibration's figures, the cores that other work left the real round, seed = round);
 * 3. prints, per size, real against simulated (the medians of the rounds, each round's figure beside them) for the
 * p50 and p95 time to quota and the REGISTERs and DISCOVERs the point answered until every node was at quota,
 * with the ratio and the goal (within 25%) beside each, and the calibration with how each figure was measured.
 *
 * It writes benchmarks/results/simulation-validation.json (quick/… with --quick) and, unless --quick or --no-docs,
 * the generated sections of benchmarks/simulation/README.md and docs/sizing.md.
 *
 * Needs root (network namespaces, test/fixtures/hosts/); without, it prints a `skipped:` line and exits 0. Run it
 * under the machine's benchmark lock: `flock /tmp/rdv-heavy.lock npm run bench -- --only validate-real`.
 *
 * node --experimental-transform-types benchmarks/simulation/validate-real.ts [--quick] [--sizes 50,200]
 * [--processes 4,8] [--rounds 3] [--layout loopback|hosts|both] [--point-delay 10] [--out name] [--no-docs]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { hostsUnavailable } from '../../test/fixtures/hosts/index.ts'
import { NODE_FLAGS, parseArgs, runChild } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { runMeta } from '../lib/run-meta.ts'
import { percentile } from '../lib/stats.ts'
import { writeSection } from './doc-sections.ts'
import { calibrate } from './real/calibrate.ts'
import { probeCapacity } from './real/capacity.ts'
import { realRound, share } from './real/multi-process-run.ts'
import { profileParts } from './real/profile-parts.ts'
import { validationDocs, validationTables } from './validation-report.ts'
import type { ProcessModel } from './model/scenario.ts'
import type { Calibration } from './real/calibrate.ts'
import type { Layout, RealRound } from './real/multi-process-run.ts'
import type { ScenarioResult } from './simulation.ts'

/** What one side measured in one round */
export interface Figures {
  p50: number | null
  p95: number | null
  max: number | null
  never: number
  register: number
  discover: number
  /** From the start until the last node reached its quota, ms */
  untilAllMs: number
  /** CPU time of the node groups, all together, and of the point, until then, ms */
  groupsCpuMs: number
  pointCpuMs: number
}

export interface ValidationRound {
  round: number
  /**
   * Cores the simulated round is given: the machine's, less what other work (none of the round's processes) took
   * while the real round ran, from /proc/stat less the round's processes' CPU (`coresLeft`)
   */
  cores: number
  /** Cores the probe found just before the real round (real/capacity.ts), for comparison */
  probe: number
  real: Figures
  simulated: Figures
  /** The real round's other figures: each process's CPU, the machine's, how late the point's counters were read */
  realDetail: Omit<RealRound, 'timings' | 'samples' | 'plan'> & { samples?: RealRound['samples'] }
  /** The simulated round's other figures: where its CPU went, each node's DISCOVERs and connections, the dials */
  simulatedDetail: Pick<ScenarioResult, 'cpuByKind' | 'waitByKind' | 'nodes' | 'dials' | 'untilAllAtQuota'>
  /** Wall time of the simulated round, ms */
  simulatedWallMs: number
}

/**
 * Where the CPU of a profiled real round went, per kind of process (the node groups summed), ms: the main threads'
 * samples from the common start to the last node's quota
 */
export interface ProfiledRound {
  untilAllMs: number
  byKind: Record<string, { totalMs: number, parts: Record<string, number> }>
}

export interface ValidationCase {
  /** A real round run with every process profiled (`--profile`): not among the rounds compared */
  profiled?: ProfiledRound
  nodes: number
  groups: number[]
  layout: Layout
  pointDelayMs: number
  calibration: Calibration
  rounds: ValidationRound[]
  /** Medians over the rounds */
  real: Figures
  simulated: Figures
  wallMs: number
}

export interface ValidationResults {
  meta: Record<string, unknown>
  cases: ValidationCase[]
}

const SIMULATION_FLAGS = [...NODE_FLAGS, '--max-semi-space-size=64']
const TOPIC = 'validation/topic'
const QUOTA = 6

const here = fileURLToPath(new URL('.', import.meta.url))
const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const sizes = (args.get('sizes') ?? (quick ? '12' : '50,200')).split(',').map(Number)
/** Node-group processes per size: 4 of 12-13 nodes for 50, 8 of 25 for 200; about 25 a process otherwise */
const PROCESSES: Record<number, number> = { 50: 4, 200: 8 }
const processes = args.has('processes')
  ? (args.get('processes') ?? '').split(',').map(Number)
  : sizes.map(n => PROCESSES[n] ?? Math.max(2, Math.round(n / 25)))
const rounds = Number(args.get('rounds') ?? (quick ? 1 : 3))
const layoutArg = args.get('layout') ?? 'loopback'
const layouts: Layout[] = layoutArg === 'both' ? ['loopback', 'hosts'] : [layoutArg as Layout]
const pointDelayMs = Number(args.get('point-delay') ?? 10)
const outName = args.get('out') ?? (quick ? 'quick/simulation-validation' : 'simulation-validation')
const writeDocs = !quick && !args.has('no-docs') && !args.has('out')
/** A directory for CPU profiles: one more real round per case, every process profiled (a diagnosis, not compared) */
const profileDir = args.get('profile')
const resultsDir = new URL('../results/', import.meta.url)

/** Bound on one real round's wait for every node's quota, ms */
function roundBoundMs (nodes: number): number {
  return nodes <= 50 ? 60_000 : 150_000
}

function median (values: number[]): number {
  return percentile(values, 50) ?? 0
}

function medianFigures (list: Figures[]): Figures {
  const pick = (key: keyof Figures): number => median(list.map(f => f[key] ?? Infinity))
  return {
    p50: pick('p50'),
    p95: pick('p95'),
    max: pick('max'),
    never: pick('never'),
    register: pick('register'),
    discover: pick('discover'),
    untilAllMs: pick('untilAllMs'),
    groupsCpuMs: pick('groupsCpuMs'),
    pointCpuMs: pick('pointCpuMs')
  }
}

/**
 * The cores other work left a real round: the machine's, less the CPU that processes not of the round took over it
 * (the whole machine's from /proc/stat less the round's processes'), per ms of its wall time. The machine is shared:
 * a 1 s probe before the round is no measure of it (rounds whose probe found 0.3-0.4 cores ran with 1.0 for their
 * own processes, the other work taking the other core), and the simulated round must share what the real one could
 * have. Below 2 cores this is close to what the round's processes used (they keep the cores busy): on a loaded
 * machine the comparison of times is then one of CPU costs and schedule at the round's own capacity
 */
function coresLeft (round: RealRound): number {
  const own = round.processes.reduce((sum, p) => sum + p.cpuMs, 0)
  const other = Math.max(0, round.machine.busyMs - own) / Math.max(1, round.machine.wallMs)
  return Math.max(0.1, cpus().length - other)
}

function realFigures (round: RealRound): Figures {
  const times = [...round.timings, ...Array.from({ length: round.never }, () => Infinity)]
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    max: percentile(times, 100),
    never: round.never,
    register: round.requests.register,
    discover: round.requests.discover,
    untilAllMs: round.untilAllMs,
    groupsCpuMs: round.processes.filter(p => p.kind === 'group').reduce((sum, p) => sum + p.cpuMs, 0),
    pointCpuMs: round.processes.find(p => p.kind === 'point')?.cpuMs ?? 0
  }
}

function simulatedFigures (result: ScenarioResult): Figures {
  const t = result.timeToQuota.start.topic
  const cpu = result.processCpuMs ?? {}
  return {
    p50: t.p50,
    p95: t.p95,
    max: t.max,
    never: t.never,
    register: result.untilAllAtQuota?.answered.register ?? 0,
    discover: result.untilAllAtQuota?.answered.discover ?? 0,
    untilAllMs: result.untilAllAtQuota?.ms ?? result.simulatedMs,
    groupsCpuMs: Object.entries(cpu).filter(([name]) => name !== 'point').reduce((sum, [, v]) => sum + v, 0),
    pointCpuMs: cpu.point ?? 0
  }
}

async function validateCase (nodes: number, groupCount: number, layout: Layout): Promise<ValidationCase> {
  const began = performance.now()
  const groups = Array.from({ length: groupCount }, (_, i) => share(nodes, groupCount, i))
  progress(`validate-real: ${nodes} nodes in ${groupCount} processes (${groups.join(', ')}), ${layout}: calibrating`)
  const calibration = await calibrate(layout, pointDelayMs)
  const list: ValidationRound[] = []
  let profiled: ProfiledRound | undefined

  if (profileDir != null) {
    profiled = await profiledRound(nodes, groupCount, layout, `${profileDir}/${nodes}-${layout}`)
  }

  for (let round = 1; round <= rounds; round++) {
    const probe = await probeCapacity()
    calibration.coreProbes.push(probe)
    progress(`validate-real: ${nodes} nodes, ${layout}, round ${round} of ${rounds}: real (probe: ${probe.toFixed(2)} cores)`)
    const real = await realRound({ nodes, processes: groupCount, layout, pointDelayMs, topic: TOPIC, quota: QUOTA, boundMs: roundBoundMs(nodes), sampleMs: 250 })
    const cores = coresLeft(real)
    progress(`validate-real: ${nodes} nodes, ${layout}, round ${round}: simulated (${cores.toFixed(2)} cores left by other work)`)
    const model: ProcessModel = { cores, groups, costs: calibration.costs }
    const simulated = await runChild<ScenarioResult>(`${here}run-one.ts`, ['--scenario', `validate-${nodes}`, '--seed', String(round), '--processes', JSON.stringify(model)], 300_000, SIMULATION_FLAGS)

    if (simulated.result == null) {
      throw new Error(`the simulated round ${round} at ${nodes} nodes gave no result: ${simulated.error}`)
    }

    const { timings, samples, plan, ...detail } = real
    list.push({
      round,
      cores,
      probe,
      real: realFigures(real),
      simulated: simulatedFigures(simulated.result),
      realDetail: { ...detail, samples: args.has('samples') ? samples : undefined },
      simulatedDetail: {
        cpuByKind: simulated.result.cpuByKind,
        waitByKind: simulated.result.waitByKind,
        nodes: simulated.result.nodes,
        dials: simulated.result.dials,
        untilAllAtQuota: simulated.result.untilAllAtQuota
      },
      simulatedWallMs: simulated.result.engine.wallMs
    })
  }

  calibration.cores = median(list.map(r => r.cores))
  return {
    profiled,
    nodes,
    groups,
    layout,
    pointDelayMs: layout === 'hosts' ? pointDelayMs : 0,
    calibration,
    rounds: list,
    real: medianFigures(list.map(r => r.real)),
    simulated: medianFigures(list.map(r => r.simulated)),
    wallMs: performance.now() - began
  }
}

/** One real round with every process profiled: where each kind of process spent its CPU, by part of the code */
async function profiledRound (nodes: number, groupCount: number, layout: Layout, dir: string): Promise<ProfiledRound> {
  progress(`validate-real: ${nodes} nodes, ${layout}: a profiled real round (profiles in ${dir})`)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const round = await realRound({ nodes, processes: groupCount, layout, pointDelayMs, topic: TOPIC, quota: QUOTA, boundMs: roundBoundMs(nodes), sampleMs: 250, profileDir: dir })
  const files = await readdir(dir)
  const byKind: ProfiledRound['byKind'] = {}

  for (const proc of round.processes) {
    const file = files.find(f => f.includes(`.${proc.pid}.`))

    if (file == null) {
      continue
    }

    const parts = await profileParts(`${dir}/${file}`, round.windowUs)
    const entry = byKind[proc.kind] ?? { totalMs: 0, parts: {} }
    entry.totalMs += parts.totalMs

    for (const { part, ms } of parts.parts) {
      entry.parts[part] = (entry.parts[part] ?? 0) + ms
    }

    byKind[proc.kind] = entry
  }

  return { untilAllMs: round.untilAllMs, byKind }
}

const unavailable = await hostsUnavailable()

if (unavailable != null) {
  print(`skipped: validate-real: ${unavailable.replace(/^SKIPPED: /, '')}`)
  process.exit(0)
}

if (sizes.length !== processes.length || sizes.some(n => !(n >= QUOTA + 1))) {
  throw new Error(`--sizes (${sizes.join(',')}) and --processes (${processes.join(',')}) must pair up, each size above the quota`)
}

const startedAt = new Date()
const loadBefore = loadavg()
const cases: ValidationCase[] = []
let failed = 0

for (const layout of layouts) {
  for (const [i, nodes] of sizes.entries()) {
    try {
      cases.push(await validateCase(nodes, processes[i], layout))
    } catch (err: any) {
      failed++
      print(`failed: validate-real at ${nodes} nodes (${layout}): ${err?.message ?? err}`)
    }
  }
}

const results: ValidationResults = {
  meta: {
    ...runMeta(startedAt, loadBefore),
    quick,
    rounds,
    layouts,
    pointDelayMs
  },
  cases
}

if (cases.length > 0) {
  print(validationTables(results))
  await mkdir(new URL(`${outName}.json`, resultsDir).pathname.replace(/\/[^/]+$/, ''), { recursive: true })
  await writeFile(new URL(`${outName}.json`, resultsDir), JSON.stringify(results, null, 2))
  print(`\nwrote ${fileURLToPath(new URL(`${outName}.json`, resultsDir))}`)

  if (writeDocs && failed === 0) {
    const docs = validationDocs(results)

    for (const [file, body] of docs) {
      await writeSection(file, 'validate-real', body)
      print(`updated the validate-real section of ${fileURLToPath(file)}`)
    }
  }
}

process.exitCode = failed === 0 ? 0 : 1
