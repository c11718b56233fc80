/**
 * Child process entry: runs one scenario and prints its result as one JSON line on stdout (progress on stderr),
 * with the wall time, CPU time and peak RSS of the whole process.
 *
 * node --experimental-transform-types benchmarks/simulation/run-one.ts --scenario 1k [--seed 2] [--minutes 3]
 * node --experimental-transform-types benchmarks/simulation/run-one.ts --scenario validate-50 --processes '{"cores":1.9,…}'
 *
 * A validation scenario needs `--processes`: the process model (model/scenario.ts) with the calibration's figures.
 */
import { parseArgs } from '../lib/child.ts'
import { progress } from '../lib/print.ts'
import { ResourceMeter } from '../lib/resources.ts'
import { SCENARIOS, scenarioNamed } from './scenarios.ts'
import { Simulation } from './simulation.ts'
import type { Scenario } from './model/scenario.ts'

const args = parseArgs(process.argv.slice(2))
const name = args.get('scenario') ?? 'ci'
const preset = scenarioNamed(name)

if (preset == null) {
  throw new Error(`no scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`)
}

const scenario: Scenario = { ...preset }

if (args.has('seed')) {
  scenario.seed = Number(args.get('seed'))
}

// a shorter run than the scenario's (to profile, or to try a change): the steady-state window shrinks with it
if (args.has('minutes')) {
  scenario.durationMs = Number(args.get('minutes')) * 60_000
  scenario.measureFromMs = Math.min(scenario.measureFromMs, scenario.durationMs / 2)
}

// a longer bound on the wall time than the scenario's (a run on a machine busy with other work)
if (args.has('wall-limit')) {
  scenario.wallLimitMs = Number(args.get('wall-limit')) * 60_000
}

if (args.has('processes')) {
  scenario.processes = JSON.parse(args.get('processes') ?? '{}')
}

if (name.startsWith('validate-') && scenario.processes == null) {
  throw new Error(`${name} needs --processes: the process model with the validation's calibration (see validate-real.ts)`)
}

const meter = new ResourceMeter(200)
progress(`${name}: ${scenario.description}`)
const result = await new Simulation(scenario, { progress }).run()
const resources = meter.stop()
result.engine.peakRssMiB = resources.peakRssMiB
result.engine.wallMs = resources.wallMs
result.engine.cpuMs = resources.cpuMs
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
