/**
 * `npm run simulate`: the simulator's validation against real multi-process runs (validate-real.ts), then the
 * networks of 1k, 10k and 100k nodes, each scenario in a child process of its own (so that its wall time, CPU and
 * peak memory are its own), then the sizing tables. Prints markdown tables (the ones docs/sizing.md quotes) and
 * writes benchmarks/results/simulation.json (the validation writes simulation-validation.json).
 *
 * npm run simulate [-- --scenarios validate,1k,10k,100k] [--seed 1] [--out simulation] [--wall-limit <minutes>]
 *
 * `--scenarios ''` runs nothing and prints the tables of the results written last.
 *
 * `validate` runs validate-real.ts as `npm run bench -- --only validate-real` does: real runs at 50 and 200 nodes
 * in several processes beside the simulator calibrated in the same minutes (needs root; several minutes). The 10k
 * and 100k runs are heavy: on a shared machine run them under a lock
 * (`flock /tmp/rdv-heavy.lock npm run simulate -- --scenarios 100k`).
 */
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS, parseArgs, runChild } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { runMeta } from '../lib/run-meta.ts'
import { comparisonTable, loadTable, runTable, sizingTable, timeToQuotaTable } from './report.ts'
import { SCENARIOS } from './scenarios.ts'
import { readServerCpu } from './sizing.ts'
import type { ScenarioResult } from './simulation.ts'
/**
 * A young generation of 64 MiB: a run makes promises and timers by the million, each short-lived, and the
 * default semi-space sends them to the old generation by the thousand (17% less CPU at 100k nodes)
 */
const SIMULATION_FLAGS = [...NODE_FLAGS, '--max-semi-space-size=64']
const DEFAULT_SCENARIOS = ['validate', '1k', '1k-ttl-15min', '10k', '100k']

const here = fileURLToPath(new URL('.', import.meta.url))
const args = parseArgs(process.argv.slice(2))
const wanted = (args.get('scenarios') ?? DEFAULT_SCENARIOS.join(',')).split(',').filter(s => s !== '')
const seedArgs = args.has('seed') ? ['--seed', args.get('seed') ?? '1'] : []
// minutes: a bound on each run's wall time other than the scenario's own (on a machine busy with other work)
const wallLimitArgs = args.has('wall-limit') ? ['--wall-limit', args.get('wall-limit') ?? '10'] : []
const outName = args.get('out') ?? 'simulation'
const resultsDir = new URL('../results/', import.meta.url)
const jsonPath = new URL(`${outName}.json`, resultsDir)

for (const name of wanted) {
  if (name !== 'validate' && SCENARIOS[name] == null) {
    throw new Error(`no scenario "${name}" (known: validate, ${Object.keys(SCENARIOS).join(', ')})`)
  }
}

async function simulate (name: string, extra: string[] = []): Promise<ScenarioResult | undefined> {
  const scenario = SCENARIOS[name]
  const wallLimitMs = args.has('wall-limit') ? Number(args.get('wall-limit')) * 60_000 : scenario.wallLimitMs
  const outcome = await runChild<ScenarioResult>(`${here}run-one.ts`, ['--scenario', name, ...seedArgs, ...wallLimitArgs, ...extra], wallLimitMs + 120_000, SIMULATION_FLAGS)

  if (outcome.result == null) {
    progress(`${name}: no result (${outcome.error})`)
  }

  return outcome.result
}

// what an earlier run wrote: scenarios not run this time keep their results
let previous: { results?: ScenarioResult[] } = {}

try {
  previous = JSON.parse(await readFile(jsonPath, 'utf8'))
} catch {
  // none yet
}

const startedAt = new Date()
const loadBefore = loadavg()
const results = new Map<string, ScenarioResult>((previous.results ?? []).map(r => [r.scenario, r]))
const failures: string[] = []

if (wanted.includes('validate')) {
  progress('validation: validate-real.ts (real multi-process runs and the simulator beside them)')
  const code = await new Promise<number | null>(resolve => {
    spawn(process.execPath, [...NODE_FLAGS, `${here}validate-real.ts`], { stdio: 'inherit' }).on('close', resolve)
  })

  if (code !== 0) {
    failures.push(`validation: validate-real.ts exited with ${code}`)
  }
}

for (const name of wanted.filter(n => n !== 'validate')) {
  const result = await simulate(name)

  if (result == null) {
    failures.push(`${name}: no result`)
  } else {
    results.set(name, result)
  }
}

const ordered = Object.keys(SCENARIOS).map(name => results.get(name)).filter((r): r is ScenarioResult => r != null && !r.scenario.startsWith('validate') && r.scenario !== 'ci')
const serverCpu = await readServerCpu(new URL('server.json', resultsDir))

if (ordered.length > 0) {
  print('\n### Time to quota\n')
  print(timeToQuotaTable(ordered))
  print('\n### Load on each point at steady state\n')
  print(loadTable(ordered))
  print('\n### Rendezvous and pubsub-peer-discovery for the same network\n')
  print(comparisonTable(ordered))
  print('\n### Fleet sizing\n')
  print(sizingTable(ordered, serverCpu))
  print('\n### The runs\n')
  print(runTable(ordered))
}

for (const failure of failures) {
  print(`\n${failure}`)
}

const meta = {
  ...runMeta(startedAt, loadBefore),
  scenarios: wanted
}

await mkdir(resultsDir, { recursive: true })
await writeFile(jsonPath, JSON.stringify({ meta, results: [...results.values()], serverCpu }, null, 2))
print(`\nwrote ${fileURLToPath(jsonPath)}`)
process.exitCode = failures.length === 0 ? 0 : 1
