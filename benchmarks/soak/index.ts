/**
 * Soak: the `rendezvous-server` command, as an operator runs it, under mixed honest and hostile load on
 * 127.0.0.1 for 15 minutes (by default), with its resident memory sampled all along. The question is whether
 * memory stays flat once the server is warm: the store is kept full (short TTLs, a small memory budget that the
 * hostile flood fills) so that every part of it has reached its steady size early.
 *
 * `npm run soak` runs 15 minutes, `npm run soak -- --minutes 60` longer, `npm run soak -- --quick` 40 s (what CI runs,
 * through bench:quick).
 *
 * After the load the server is left idle for `--idle-seconds` (60 by default, 0 with --quick) and still sampled: V8
 * gives its page pool back after ~30 s without work, so RSS that falls then was V8's high-water mark, RSS that
 * stays was held.
 *
 * Besides /proc's RSS (anonymous and file-backed), `memory-probe.ts`, loaded into the server, reports V8's heap in
 * use and committed (per space), external memory and `arrayBuffers`, so that growth can be put on one of them.
 *
 * Diagnostics, for a run that is not the figure: `--live-heap` runs a full garbage collection before each sample
 * (the heap in use is then the live heap), `--heap-snapshots` has the server write a heap snapshot at the end of
 * the warm-up and at the end of the load (kept in a directory printed at the end; compare them with
 * `node benchmarks/soak/compare-snapshots.ts a.heapsnapshot b.heapsnapshot`).
 *
 * Prints a table and writes benchmarks/results/soak.json (quick/soak.json for --quick). Exits non-zero only when
 * the soak could not run or the server did not stop cleanly; the memory verdict is a figure, not a failure.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { NODE_FLAGS, parseArgs } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { formatTable } from '../lib/table.ts'
import { runLoad } from './load.ts'
import type { LoadPlan, Outcomes } from './load.ts'

const MiB = 1024 * 1024
const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const durationMs = quick ? 40_000 : Number(args.get('minutes') ?? 15) * 60_000
/** Memory is compared from the end of the warm-up on: a third of the run, at most 3 minutes */
const warmupMs = Math.min(durationMs / 3, 3 * 60_000)
const sampleMs = quick ? 1000 : 5000
const idleMs = Number(args.get('idle-seconds') ?? (quick ? 0 : 60)) * 1000
const liveHeap = args.has('live-heap')
const heapSnapshots = args.has('heap-snapshots')
const plan: LoadPlan = { honest: 6, hostile: 4, churnMs: quick ? 5000 : 30_000, requestTimeoutMs: 5000 }
/** The memory store's budget: small enough that the hostile flood fills it within the warm-up */
const STORE_BYTES = 4 * MiB

if (!(durationMs > 0)) {
  throw new Error('--minutes must be a positive number')
}
if (!(idleMs >= 0)) {
  throw new Error('--idle-seconds must be a number of seconds, 0 or more')
}

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))
const PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'rdv-soak-'))
const diagnosticFlags = [...(liveHeap ? ['--expose-gc'] : []), ...(heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2'] : [])]
const server = spawn(process.execPath, [...NODE_FLAGS, ...diagnosticFlags, '--import', PROBE, BIN,
  '--listen', '/ip4/127.0.0.1/tcp/0', '--identity', join(dir, 'identity.key'), '--metrics', '127.0.0.1:0', '--log-level', 'silent',
  // registrations live seconds and are swept every second, so the store churns as a busy one does over hours
  '--min-ttl', '1', '--max-ttl', '120', '--default-ttl', '10', '--sweep-interval', '1000', '--timeout', '2000',
  '--memory-max-bytes', String(STORE_BYTES), '--max-registrations-per-peer', '200', '--max-connections', '256', '--inbound-connection-threshold', '1000'
], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, RDV_SOAK_PROBE_MS: String(sampleMs), RDV_SOAK_PROBE_GC: liveHeap ? '1' : '0' } })
const stderr: string[] = []
server.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
const exited = new Promise<number | null>(resolve => server.once('exit', code => { resolve(code) }))

interface Listening { multiaddrs: string[], metrics: string }
const listening = await new Promise<Listening>((resolve, reject) => {
  const lines = createInterface({ input: server.stdout! })
  lines.on('line', line => {
    if (line.startsWith('{"event":"listening"')) {
      resolve(JSON.parse(line))
    }
  })
  exited.then(code => { reject(new Error(`the server exited (${code}) before listening: ${stderr.join('')}`)) }, reject)
})
const target = multiaddr(listening.multiaddrs.find(ma => !ma.includes('/ws')) ?? listening.multiaddrs[0])

interface Probe {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  spaces: Record<string, number>
}
/** The server's latest own memory figures, from memory-probe.ts on fd 3 */
let probe: Probe | undefined
const probeStream = server.stdio[3]
if (probeStream != null && 'on' in probeStream) {
  createInterface({ input: probeStream as NodeJS.ReadableStream }).on('line', line => {
    try {
      probe = JSON.parse(line)
    } catch {
      // a line cut short as the server stops: the previous sample stands
    }
  })
}

interface Sample {
  /** Seconds since the load started */
  t: number
  /** Under load, or idle after it */
  phase: 'load' | 'idle'
  rssMiB: number
  /** Anonymous memory (V8's heap, malloc, buffers) and file-backed pages (code, mapped files) */
  rssAnonMiB: number
  rssFileMiB: number
  heapMiB?: number
  heapTotalMiB?: number
  externalMiB?: number
  arrayBuffersMiB?: number
  /** V8's committed size per heap space */
  spacesMiB?: Record<string, number>
  registrations?: number
}

/** Resident set size of the server, from /proc (Linux) */
function resident (pid: number): { rssMiB: number, rssAnonMiB: number, rssFileMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kB = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) / 1024
  return { rssMiB: kB('VmRSS'), rssAnonMiB: kB('RssAnon'), rssFileMiB: kB('RssFile') }
}

/** A few series of the server's own /metrics */
async function scrape (): Promise<Partial<Sample>> {
  try {
    const text = await (await fetch(listening.metrics, { signal: AbortSignal.timeout(5000) })).text()
    const value = (series: string): number | undefined => {
      const line = text.split('\n').find(l => l.startsWith(`${series} `))
      return line == null ? undefined : Number(line.slice(series.length + 1))
    }
    return {
      registrations: value('libp2p_rendezvous_server_store{kind="registrations"}')
    }
  } catch {
    return {}
  }
}

const samples: Sample[] = []
const started = Date.now()
const deadline = started + durationMs
let phase: Sample['phase'] = 'load'
const sampler = setInterval(() => {
  const t = (Date.now() - started) / 1000
  const rss = resident(server.pid!)
  const own = probe == null
    ? {}
    : {
        heapMiB: probe.heapUsed / MiB,
        heapTotalMiB: probe.heapTotal / MiB,
        externalMiB: probe.external / MiB,
        arrayBuffersMiB: probe.arrayBuffers / MiB,
        spacesMiB: Object.fromEntries(Object.entries(probe.spaces).map(([name, bytes]) => [name, Math.round(bytes / MiB * 10) / 10]))
      }
  const sampledIn = phase
  scrape().then(metrics => {
    samples.push({ t, phase: sampledIn, ...rss, ...own, ...metrics })
    if (samples.length % Math.max(1, Math.round(60_000 / sampleMs)) === 0) {
      progress(`soak: ${t.toFixed(0)} s (${sampledIn}), server rss ${rss.rssMiB.toFixed(0)} MiB (anon ${rss.rssAnonMiB.toFixed(0)}), heap ${own.heapMiB?.toFixed(0)} of ${own.heapTotalMiB?.toFixed(0)} MiB, external ${own.externalMiB?.toFixed(0)} MiB, ${metrics.registrations} registrations`)
    }
  }, () => {})
}, sampleMs)

progress(`soak: ${durationMs / 1000} s of load on ${target.toString()}, warm-up ${warmupMs / 1000} s`)
if (heapSnapshots) {
  setTimeout(() => { server.kill('SIGUSR2') }, warmupMs).unref()
  setTimeout(() => { server.kill('SIGUSR2') }, durationMs - 30_000).unref()
}
let outcomes: Outcomes = new Map()
let loadError: string | undefined
try {
  outcomes = await runLoad(target, deadline, plan)
} catch (err: any) {
  loadError = err.stack ?? String(err)
}
if (idleMs > 0) {
  phase = 'idle'
  progress(`soak: load over, ${idleMs / 1000} s idle`)
  await new Promise(resolve => setTimeout(resolve, idleMs))
}
clearInterval(sampler)

server.kill('SIGTERM')
const code = await Promise.race([exited, new Promise<string>(resolve => setTimeout(resolve, 40_000, 'still running after 40 s').unref())])
if (typeof code === 'string') {
  server.kill('SIGKILL')
}
if (heapSnapshots) {
  await rm(join(dir, 'identity.key'), { force: true })
  print(`heap snapshots kept in ${dir}: ${readdirSync(dir).join(', ')}`)
} else {
  await rm(dir, { recursive: true, force: true })
}

/** Least-squares slope of y over t, per minute */
function slopePerMinute (points: Array<{ t: number, y: number }>): number {
  const n = points.length
  if (n < 2) {
    return 0
  }
  const mt = points.reduce((s, p) => s + p.t, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.y - my), 0)
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0)
  return den === 0 ? 0 : num / den * 60
}

const warm = samples.filter(s => s.t * 1000 >= warmupMs && s.phase === 'load')
const atWarm = warm[0]?.rssMiB ?? NaN
const atEnd = warm.at(-1)?.rssMiB ?? NaN
const maxWarm = Math.max(...warm.map(s => s.rssMiB))
/** Slope over the measured part of one series, MiB per minute */
const slopeOf = (pick: (s: Sample) => number | undefined): number =>
  slopePerMinute(warm.filter(s => Number.isFinite(pick(s))).map(s => ({ t: s.t, y: pick(s) ?? 0 })))
const slope = slopeOf(s => s.rssMiB)
const heapSlope = slopeOf(s => s.heapMiB)
const slopes = {
  rssAnon: slopeOf(s => s.rssAnonMiB),
  heapUsed: heapSlope,
  heapTotal: slopeOf(s => s.heapTotalMiB),
  external: slopeOf(s => s.externalMiB),
  arrayBuffers: slopeOf(s => s.arrayBuffersMiB),
  /** RSS that is neither V8's committed heap nor external memory: malloc, code, stacks */
  rssOutsideHeap: slopeOf(s => s.heapTotalMiB == null || s.externalMiB == null ? undefined : s.rssMiB - s.heapTotalMiB - s.externalMiB)
}
const idle = samples.filter(s => s.phase === 'idle')
const rssAfterIdle = idle.at(-1)?.rssMiB
/** Flat: over the measured part, RSS rose by less than 10% of where it started (noise of GC and allocator pools) */
const growth = atEnd - atWarm
const flat = growth < atWarm * 0.1
const requests = [...outcomes.values()].reduce((s, n) => s + n, 0)

print(`**Soak: ${(durationMs / 60_000).toFixed(quick ? 2 : 0)} min of mixed load, server memory after a ${(warmupMs / 1000).toFixed(0)} s warm-up**\n`)
print(formatTable(
  ['RSS at warm-up MiB', 'RSS at end MiB', 'max after warm-up MiB', 'RSS slope MiB/min', 'heap slope MiB/min', 'verdict', 'requests', 'server exit'],
  [[atWarm.toFixed(0), atEnd.toFixed(0), maxWarm.toFixed(0), slope.toFixed(2), heapSlope.toFixed(2), flat ? 'flat' : `grew ${growth.toFixed(0)} MiB`, String(requests), String(code)]]
))
print('\nMemory over time (MiB):')
const everyMs = Math.max(sampleMs, Math.round(durationMs / 12 / sampleMs) * sampleMs)
const slot = (s: Sample, every: number): boolean => Math.round(s.t * 1000 / sampleMs) % every === 0
const timeline = samples.filter((s, i) => i === samples.length - 1 || slot(s, Math.round(everyMs / sampleMs)) || (s.phase === 'idle' && slot(s, Math.max(1, Math.round(15_000 / sampleMs)))))
const fmt = (n: number | undefined): string => n == null || !Number.isFinite(n) ? '-' : n.toFixed(0)
print(formatTable(
  ['t s', 'phase', 'RSS', 'anon', 'heap used', 'heap committed', 'external', 'arrayBuffers', 'registrations'],
  timeline.map(s => [s.t.toFixed(0), s.phase, fmt(s.rssMiB), fmt(s.rssAnonMiB), fmt(s.heapMiB), fmt(s.heapTotalMiB), fmt(s.externalMiB), fmt(s.arrayBuffersMiB), String(s.registrations ?? '-')])
))
print(`\nslopes after warm-up, MiB/min: ${Object.entries(slopes).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`)
if (rssAfterIdle != null) {
  print(`RSS after ${idleMs / 1000} s idle: ${rssAfterIdle.toFixed(0)} MiB`)
}
print('\nOutcomes:')
print([...outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', '))
if (loadError != null) {
  print(`\nthe load failed: ${loadError}`)
}

const outName = args.get('out') ?? (quick ? 'quick/soak' : 'soak')
const jsonPath = new URL(`../results/${outName}.json`, import.meta.url)
await mkdir(new URL('.', jsonPath), { recursive: true })
const head = JSON.stringify({
  meta: { startedAt: new Date(started).toISOString(), node: process.version, cpus: cpus().length, loadavgAfter: loadavg(), quick, durationMs, warmupMs, sampleMs, idleMs, liveHeap, heapSnapshots, plan, storeBytes: STORE_BYTES },
  summary: { rssAtWarmupMiB: atWarm, rssAtEndMiB: atEnd, rssMaxAfterWarmupMiB: maxWarm, rssSlopeMiBPerMinute: slope, heapSlopeMiBPerMinute: heapSlope, slopesMiBPerMinute: slopes, rssAfterIdleMiB: rssAfterIdle, idleMs, flat, requests, serverExit: code },
  outcomes: Object.fromEntries(outcomes)
}, null, 2)
// one line per sample: a 50-minute run has 600 of them
await writeFile(jsonPath, `${head.slice(0, -2)},\n  "samples": [\n${samples.map(sample => `    ${JSON.stringify(sample)}`).join(',\n')}\n  ]\n}\n`)
print(`\nwrote ${fileURLToPath(jsonPath)}`)
process.exit(loadError == null && code === 0 ? 0 : 1)
