/**
 * Every benchmark, one after another: `npm run bench` (full, bounded, about half an hour on 2 cores) or
 * `npm run bench:quick` (under two minutes; CI runs it to prove the benchmarks still work).
 *
 * Benchmarks never fail on speed: the exit code is non-zero when a suite is missing, or exits non-zero because a
 * part of it could not run or measured nothing (each suite says which in `failed: ...` lines). A part that cannot
 * run here for a documented reason (no PostgreSQL, canvas not installed) is a `skipped: ...` line instead, which
 * `.ci/run` checks against the skips it expects.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS } from './lib/child.ts'
import { print } from './lib/print.ts'

const SUITES = ['discovery-latency/index.ts', 'server/index.ts', 'server/shapes.ts', 'server/stalled-readers.ts', 'store-memory/index.ts', 'soak/index.ts']

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
let failed = 0

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
