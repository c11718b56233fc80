/**
 * The memory store's own costs, each case in a child process of its own:
 *
 * - what a full store takes in memory: filled to its default byte budget (1 GiB) with the largest records the
 * server accepts (4 KiB) and with typical ones (150 bytes), one registration per peer and namespace and 1000 per
 * peer; heap and buffers after full garbage collections, and RSS, against what the store counted
 * - a mass expiry: 1M registrations expiring at once, the first DISCOVER after it and the longest event-loop block
 * while the rest is removed, in slices of 1000 (now) and all at once (before slices)
 *
 * npx node --experimental-transform-types benchmarks/store-memory/index.ts [--quick]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MEMORY_STORE_DEFAULTS } from '../../src/server/store/memory-store-options.ts'
import { NODE_FLAGS, parseArgs, runChild } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { formatTable } from '../lib/table.ts'
import type { Shape } from './case.ts'

interface FillResult {
  shape: Shape
  recordSize: number
  maxBytes: number
  held: number
  refusal: string
  counted: number
  heapBytes: number
  externalBytes: number
  rssBytes: number
  realPerRegistration: number
  countedPerRegistration: number
  fillPerSecond: number
}

interface SweepResult {
  count: number
  sweepSlice: number
  firstDiscoverMs: number
  firstPage: number
  drainMs: number
  maxLoopBlockMs: number
  p99LoopBlockMs: number
  turns: number
  perRemovalUs: number
}

const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const plan = quick
  ? { maxBytes: 32 * 1024 * 1024, sweepCount: 50_000 }
  : { maxBytes: MEMORY_STORE_DEFAULTS.maxBytes, sweepCount: 1_000_000 }
const CASE = fileURLToPath(new URL('./case.ts', import.meta.url))
const FLAGS = [...NODE_FLAGS, '--expose-gc', '--max-old-space-size=4096']
const MiB = 1024 * 1024
const startedAt = new Date()
const loadBefore = loadavg()
const fills: FillResult[] = []
const sweeps: SweepResult[] = []
const failures: string[] = []

for (const recordSize of [4096, 150]) {
  for (const shape of ['distinct', 'shared'] as Shape[]) {
    progress(`fill: ${shape}, ${recordSize}-byte records, budget ${plan.maxBytes / MiB} MiB`)
    const outcome = await runChild<FillResult>(CASE, ['--case', 'fill', '--shape', shape, '--record-size', String(recordSize), '--max-bytes', String(plan.maxBytes)], 600_000, FLAGS)
    if (outcome.result == null) {
      failures.push(`fill ${shape} ${recordSize}: ${outcome.error}`)
    } else {
      fills.push(outcome.result)
    }
  }
}

for (const slice of [MEMORY_STORE_DEFAULTS.sweepSlice, plan.sweepCount]) {
  progress(`sweep: ${plan.sweepCount} expiring at once, slices of ${slice}`)
  const outcome = await runChild<SweepResult>(CASE, ['--case', 'sweep', '--count', String(plan.sweepCount), '--slice', String(slice)], 600_000, FLAGS)
  if (outcome.result == null) {
    failures.push(`sweep ${slice}: ${outcome.error}`)
  } else {
    sweeps.push(outcome.result)
  }
}

print(`**A full memory store** (budget ${plan.maxBytes / MiB} MiB; heap and buffers after full GCs)\n`)
print(formatTable(
  ['records', 'shape', 'registrations held', 'refused as', 'counted MiB', 'heap + buffers MiB', 'RSS growth MiB', 'real B/registration'],
  fills.map(r => [
    `${r.recordSize} B`,
    r.shape === 'distinct' ? 'a peer and a namespace each' : '1000 per peer, shared namespaces',
    r.held.toLocaleString('en-US'),
    r.refusal,
    (r.counted / MiB).toFixed(0),
    ((r.heapBytes + r.externalBytes) / MiB).toFixed(0),
    (r.rssBytes / MiB).toFixed(0),
    r.realPerRegistration.toFixed(0)
  ])
))

print(`\n**${plan.sweepCount.toLocaleString('en-US')} registrations expiring at once**\n`)
print(formatTable(
  ['removed', 'first DISCOVER after ms', 'longest loop block ms', 'p99 loop turn ms', 'all removed after ms', 'µs per removal'],
  sweeps.map(r => [
    r.sweepSlice >= r.count ? 'all at once (before)' : `slices of ${r.sweepSlice}`,
    r.firstDiscoverMs.toFixed(1),
    r.maxLoopBlockMs.toFixed(1),
    r.p99LoopBlockMs.toFixed(1),
    r.drainMs.toFixed(0),
    r.perRemovalUs.toFixed(2)
  ])
))

for (const failure of failures) {
  print(`\nfailed: ${failure}`)
}

const outName = args.get('out') ?? (quick ? 'quick/store-memory' : 'store-memory')
const jsonPath = new URL(`../results/${outName}.json`, import.meta.url)
await mkdir(new URL('.', jsonPath), { recursive: true })
await writeFile(jsonPath, JSON.stringify({
  meta: { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg(), quick, plan },
  fills,
  sweeps,
  failures
}, null, 2))
print()
print(`wrote ${fileURLToPath(jsonPath)}`)
process.exitCode = failures.length === 0 ? 0 : 1
