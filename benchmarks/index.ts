/**
 * Every benchmark, one after another: `npm run bench` (full, bounded, about half an hour on 2 cores) or
 * `npm run bench:quick` (under two minutes; CI runs it to prove the benchmarks still work).
 *
 * Benchmarks never fail on speed: the exit code is non-zero when a suite is missing, or exits non-zero because a
 * part of it could not run or measured nothing (each suite says which in `failed: ...` lines). A part that cannot
 * run here for a documented reason (no PostgreSQL, canvas not installed) is a `skipped: ...` line instead, which
 * `.ci/run` checks against the skips it expects.
 *
 * `simulation/validate-real.ts` (the simulator against real multi-process runs, several minutes) runs in the full
 * run only: bench:quick leaves it out. `--only <name>` runs the suites whose path holds the name (`npm run bench --
 * --only validate-real`); it is not passed on to them.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS } from './lib/child.ts'
import { print } from './lib/print.ts'

const ALL_SUITES = ['discovery-latency/index.ts', 'server/index.ts', 'server/shapes.ts', 'server/stalled-readers.ts', 'store-memory/index.ts', 'soak/index.ts', 'simulation/validate-real.ts']
/** Too long for bench:quick's two minutes (a calibration and real rounds of 12 nodes take over one) */
const FULL_ONLY = new Set(['simulation/validate-real.ts'])

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const only = args.includes('--only') ? args.splice(args.indexOf('--only'), 2)[1] : undefined
const SUITES = ALL_SUITES
  .filter(suite => !(args.includes('--quick') && FULL_ONLY.has(suite)))
  .filter(suite => only == null || suite.includes(only))
let failed = 0

if (SUITES.length === 0) {
  print(`failed: no benchmark suite matches --only ${only}`)
  failed++
}

for (const suite of SUITES) {
  const script = `${here}${suite}`
  if (!existsSync(script)) {
    print(`failed: ${suite} is not there`)
    failed++
    continue
  }

  print(`\n## ${suite} ${args.join(' ')}\n`)
  const code = await new Promise<number | null>(resolve => {
    spawn(process.execPath, [...NODE_FLAGS, script, ...args], { stdio: 'inherit' }).on('close', resolve)
  })
  if (code !== 0) {
    print(`failed: ${suite} exited with ${code}`)
    failed++
  }
}

print(`\n${SUITES.length - failed} of ${SUITES.length} benchmark suites ran to their end${failed === 0 ? '' : `, ${failed} failed`}`)
process.exitCode = failed === 0 ? 0 : 1
