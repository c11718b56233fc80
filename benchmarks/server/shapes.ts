/**
 * What a reply costs the server in the traffic shapes besides the throughput benchmark's (8 connections x 16 kept
 * streams), and what a requester that reads only legacy records costs it (issue 20): today's code (the commit this
 * work started from) and the current one, each in a server process of its own on TCP 127.0.0.1, in interleaved
 * rounds; the tables give the median of the rounds.
 *
 * Shapes, memory store, DISCOVER of a namespace of 100 (50 back): 8 connections x 16 kept streams; 1 connection x 16
 * kept streams; one request per stream over 1 connection, 16 in flight (Rust's, Nim's and most clients' way). Goals:
 * <= 200 µs of server CPU per reply on kept streams, <= 800 µs one request per stream.
 *
 * A requester whose identify agent says `rust-libp2p/0.55.0` (it reads only legacy records) in a store of 19,980
 * standard registrations, 4 DISCOVERs of every namespace in flight: server CPU per DISCOVER, and the p50 of an honest
 * JS client's DISCOVERs (every namespace, 1,000 back) alone and beside it; the memory store, and PostgreSQL when
 * `RENDEZVOUS_TEST_POSTGRES_URL` is set (its database CPU too, when it runs on this machine).
 *
 * npx node --experimental-transform-types benchmarks/server/shapes.ts [--quick] [--rounds n] [--load-ms ms]
 * [--profile] [--only text] [--baseline commit]
 *
 * - `--profile`: profile the current server's CPU over each load of the first round and print where it went
 * - `--only`: run only the rows whose label contains this text
 * - `--upstream`: also the current code with what changes outside this package would save, in the shapes: the
 * debug module told not to ask whether stderr is a terminal (`DEBUG_COLORS` set: libp2p makes loggers for every
 * stream, and each asks), and libp2p merging a stream's protocol into the peer store once per peer, not per stream
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { NODE_FLAGS, parseArgs } from '../lib/child.ts'
import { summarizeProfile } from '../lib/cpu-profile.ts'
import { createBenchNode } from '../lib/nodes.ts'
import { print, progress } from '../lib/print.ts'
import { fmtMs, medianOf, summarize } from '../lib/stats.ts'
import { formatTable } from '../lib/table.ts'
import { baselineSource, ISSUE_20_BASELINE } from './baseline.ts'
import { databaseCpuMs, isLocalDatabase } from './database-cpu.ts'
import { TARGET_NAMESPACE } from './fill.ts'
import { runLoad, startClients, stopClients } from './load.ts'
import { discoverRequest, rawClient, statusOf } from './raw-client.ts'
import { ServerProcess } from './server-process.ts'
import type { Client } from './load.ts'
import type { StreamMode } from './raw-client.ts'
import type { ProfileSummary } from '../lib/cpu-profile.ts'

type Code = 'today' | 'now'

/** A server to measure: a code, and what else it runs with */
interface Variant {
  name: string
  code: Code
  env?: Record<string, string>
  args?: string[]
}

const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const profiling = args.has('profile')
const only = args.get('only')
const rounds = Number(args.get('rounds') ?? (quick ? 1 : 5))
const loadMs = Number(args.get('load-ms') ?? (quick ? 1000 : 5000))
const here = fileURLToPath(new URL('.', import.meta.url))
const profileDir = fileURLToPath(new URL('../results/profiles/', import.meta.url))
const pgUrl = process.env.RENDEZVOUS_TEST_POSTGRES_URL
const startedAt = new Date()
const loadBefore = loadavg()
const skipped: string[] = []
const profiles: Array<{ label: string, summary: ProfileSummary }> = []

if (profiling) {
  await mkdir(profileDir, { recursive: true })
}

const baseline = await baselineSource(args.get('baseline') ?? ISSUE_20_BASELINE)
if ('skipped' in baseline) {
  skipped.push(baseline.skipped)
}

const wanted = (label: string): boolean => only == null || label.includes(only)

async function startServer (variant: Variant, store: 'memory' | 'postgres', fill: number): Promise<ServerProcess | undefined> {
  const src = variant.code === 'today' ? ('skipped' in baseline ? undefined : baseline.src) : undefined

  if (variant.code === 'today' && src == null) {
    return undefined
  }

  return ServerProcess.start(process.execPath, [
    ...NODE_FLAGS, '--expose-gc', '--max-old-space-size=4096', `${here}serve.ts`,
    '--store', store, '--fill', String(fill), '--fill-method', store === 'postgres' ? 'sql' : 'api',
    ...(src == null ? [] : ['--src', src]),
    ...variant.args ?? []
  ], { timeoutMs: 120_000, env: variant.env })
}

const TODAY: Variant = { name: 'today', code: 'today' }
const NOW: Variant = { name: 'now', code: 'now' }
const UPSTREAM: Variant[] = args.has('upstream')
  ? [
      { name: 'now, DEBUG_COLORS set', code: 'now', env: { DEBUG_COLORS: '0' } },
      { name: 'now, protocol merged once per peer', code: 'now', args: ['--merge-once'] },
      { name: 'now, both', code: 'now', env: { DEBUG_COLORS: '0' }, args: ['--merge-once'] }
    ]
  : []

/** Server CPU (ms) over `work`, profiled into `label` when asked */
async function cpuOver <T> (server: ServerProcess, label: string | undefined, work: () => Promise<T>): Promise<{ result: T, cpuMs: number }> {
  if (label != null) {
    await server.profileStart()
  }
  const before = await server.stats()
  const result = await work()
  const after = await server.stats()
  if (label != null) {
    const file = `${profileDir}shapes-${label.replace(/[^a-z0-9]+/gi, '_')}.cpuprofile`
    await server.profileStop(file)
    profiles.push({ label, summary: await summarizeProfile(file) })
  }
  return { result, cpuMs: after.cpuMs - before.cpuMs }
}

// --- 1. shapes
interface Shape {
  label: string
  clients: number
  concurrency: number
  mode: StreamMode
  /** Goal: server CPU per reply, µs */
  goal: number
}

const SHAPES: Shape[] = [
  { label: '8 connections x 16 kept streams', clients: 8, concurrency: 16, mode: 'open-streams', goal: 200 },
  { label: '1 connection x 16 kept streams', clients: 1, concurrency: 16, mode: 'open-streams', goal: 200 },
  { label: '1 connection, a stream per request, 16 in flight', clients: 1, concurrency: 16, mode: 'stream-per-request', goal: 800 }
]

interface ShapeRound { cpuMicrosPerOk: number, okPerSecond: number, p50: number | null, failed: number }

async function shapeRound (server: ServerProcess, shape: Shape, profileLabel?: string): Promise<ShapeRound> {
  const clients = await startClients(shape.clients, server.target, server.ready.protocol, shape.mode)
  try {
    const { result, cpuMs } = await cpuOver(server, profileLabel, async () => runLoad(clients, {
      kind: 'discover',
      clients: clients.length,
      concurrency: shape.concurrency,
      durationMs: loadMs,
      discoverNamespace: TARGET_NAMESPACE,
      discoverLimit: 50
    }))
    const ok = result.statuses.OK ?? 0
    return { cpuMicrosPerOk: ok === 0 ? NaN : cpuMs * 1000 / ok, okPerSecond: result.okPerSecond, p50: result.latency.p50, failed: result.requests - ok }
  } finally {
    await stopClients(clients)
  }
}

const shapeRounds = new Map<string, ShapeRound[]>()
const shapesWanted = SHAPES.filter(shape => wanted(`shape ${shape.label}`))

/** One round of every shape on each variant's server, interleaved */
async function shapesRound (servers: Record<string, ServerProcess>, round: number): Promise<void> {
  for (const shape of shapesWanted) {
    for (const [name, server] of Object.entries(servers)) {
      progress(`shapes, round ${round + 1}/${rounds}: ${name}, ${shape.label}`)
      const profileLabel = profiling && round === 0 && name === 'now' ? `now, ${shape.label}` : undefined
      const key = `${name}|${shape.label}`
      shapeRounds.set(key, [...shapeRounds.get(key) ?? [], await shapeRound(server, shape, profileLabel)])
    }
  }
}

/** Starts a server of each variant, each with `fill` registrations; one whose source is not available is left out */
async function startAll (variants: Variant[], store: 'memory' | 'postgres', fill: number, what: string): Promise<Record<string, ServerProcess>> {
  const servers: Record<string, ServerProcess> = {}
  for (const variant of variants) {
    progress(`${what}: starting ${variant.name}'s server${fill > 0 ? ` with ${fill} registrations` : ''}`)
    const server = await startServer(variant, store, fill)
    if (server != null) {
      servers[variant.name] = server
    }
  }
  return servers
}

if (shapesWanted.length > 0) {
  const servers = await startAll([TODAY, NOW, ...UPSTREAM], 'memory', 1000, 'shapes')
  try {
    for (let round = 0; round < rounds; round++) {
      await shapesRound(servers, round)
    }
  } finally {
    await Promise.all(Object.values(servers).map(async server => server.stop()))
  }
}

// --- 2. a requester that reads only legacy records, in a store of standard ones
const LEGACY_FILL = 19_980
const RUST_AGENT = 'rust-libp2p/0.55.0'

interface LegacyRound {
  /** Server CPU per DISCOVER of the rust-libp2p agent, alone, µs */
  rustCpuMicros: number
  /** The same for the database, when it runs here, µs */
  rustDatabaseMicros?: number
  rustPerSecond: number
  /** Registrations it got per DISCOVER */
  rustReturned: number
  honestAloneP50: number | null
  honestBesideP50: number | null
  honestReturned: number
  /** Server CPU per honest DISCOVER (1,000 back), alone, µs */
  honestCpuMicros: number
}

/** DISCOVERs of every namespace by `client`, `inFlight` at a time, for `ms`: their latencies and what they returned */
async function discoverAll (client: Client, inFlight: number, ms: number): Promise<{ latencies: number[], returned: number, failed: number }> {
  const latencies: number[] = []
  let returned = 0
  let failed = 0
  const until = performance.now() + ms
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now()
      try {
        const reply = await client.raw.request(discoverRequest(undefined, 0), AbortSignal.timeout(30_000))
        if (statusOf(reply) !== 'OK') {
          failed++
          continue
        }
        latencies.push(performance.now() - t0)
        returned = reply.discoverResponse?.registrations.length ?? 0
      } catch {
        failed++
      }
    }
  }))
  return { latencies, returned, failed }
}

async function agentClient (server: ServerProcess, mode: StreamMode, userAgent?: string): Promise<Client> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createBenchNode({ transport: 'tcp', start: true, privateKey, userAgent, pubsub: false })
  await node.dial(server.target)
  // identify has run both ways by now: the point knows the agent, today's code reads it from the peer store
  await new Promise(resolve => setTimeout(resolve, 500))
  return { node, record: new Uint8Array(), raw: rawClient(node, server.target, server.ready.protocol, mode) }
}

async function legacyRound (server: ServerProcess, store: 'memory' | 'postgres', profileLabel?: string): Promise<LegacyRound> {
  // a Rust client sends one request per stream; ours keeps its streams
  const rust = await agentClient(server, 'stream-per-request', RUST_AGENT)
  const honest = await agentClient(server, 'open-streams')
  const local = store === 'postgres' && pgUrl != null && isLocalDatabase(pgUrl)
  try {
    const { result: alone, cpuMs: honestCpuMs } = await cpuOver(server, undefined, async () => discoverAll(honest, 1, loadMs))
    const databaseBefore = local ? await databaseCpuMs() : undefined
    const { result: rustAlone, cpuMs } = await cpuOver(server, profileLabel, async () => discoverAll(rust, 4, loadMs))
    const databaseAfter = local ? await databaseCpuMs() : undefined
    const [beside] = await Promise.all([discoverAll(honest, 1, loadMs), discoverAll(rust, 4, loadMs)])
    const rustOk = rustAlone.latencies.length
    return {
      rustCpuMicros: rustOk === 0 ? NaN : cpuMs * 1000 / rustOk,
      rustDatabaseMicros: databaseBefore == null || databaseAfter == null || rustOk === 0 ? undefined : (databaseAfter - databaseBefore) * 1000 / rustOk,
      rustPerSecond: rustOk / (loadMs / 1000),
      rustReturned: rustAlone.returned,
      honestAloneP50: summarize(alone.latencies).p50,
      honestCpuMicros: alone.latencies.length === 0 ? NaN : honestCpuMs * 1000 / alone.latencies.length,
      honestBesideP50: summarize(beside.latencies).p50,
      honestReturned: alone.returned
    }
  } finally {
    await stopClients([rust, honest])
  }
}

const legacyRounds = new Map<string, LegacyRound[]>()

async function legacyRuns (store: 'memory' | 'postgres'): Promise<void> {
  const servers = await startAll([TODAY, NOW], store, LEGACY_FILL, `rust-libp2p agent, ${store}`)
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [code, server] of Object.entries(servers)) {
        progress(`rust-libp2p agent, ${store}, round ${round + 1}/${rounds}: ${code}`)
        const profileLabel = profiling && round === 0 ? `${code}, rust-libp2p agent, ${store}` : undefined
        const key = `${code}|${store}`
        legacyRounds.set(key, [...legacyRounds.get(key) ?? [], await legacyRound(server, store, profileLabel)])
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map(async server => server.stop()))
  }
}

for (const store of ['memory', ...(pgUrl == null ? [] : ['postgres'])] as Array<'memory' | 'postgres'>) {
  if (wanted(`rust-libp2p agent, ${store}`)) {
    await legacyRuns(store).catch((err: any) => { skipped.push(`rust-libp2p agent, ${store}: ${err.message}`) })
  }
}
if (pgUrl == null) {
  skipped.push('rust-libp2p agent, PostgreSQL: RENDEZVOUS_TEST_POSTGRES_URL is not set')
}

// --- report
const med = (values: Array<number | null | undefined>): number | undefined => medianOf(values) ?? undefined
const fmt = (v: number | undefined, digits = 0): string => v == null ? '-' : v.toFixed(digits)
const baselineName = 'skipped' in baseline ? 'unavailable' : `commit ${baseline.commit}`

interface ShapeRow { shape: string, code: string, rounds: number, cpuMicrosPerOk?: number, cpuEachRound: number[], okPerSecond?: number, p50?: number, failed: number, goal: number, met?: boolean }
const shapeRows: ShapeRow[] = []
for (const shape of shapesWanted) {
  for (const code of [TODAY, NOW, ...UPSTREAM].map(variant => variant.name)) {
    const found = shapeRounds.get(`${code}|${shape.label}`) ?? []
    if (found.length === 0) {
      continue
    }
    const cpu = med(found.map(r => r.cpuMicrosPerOk))
    shapeRows.push({
      shape: shape.label,
      code,
      rounds: found.length,
      cpuMicrosPerOk: cpu,
      cpuEachRound: found.map(r => Math.round(r.cpuMicrosPerOk)),
      okPerSecond: med(found.map(r => r.okPerSecond)),
      p50: med(found.map(r => r.p50)),
      failed: found.reduce((sum, r) => sum + r.failed, 0),
      goal: shape.goal,
      met: cpu == null ? undefined : cpu <= shape.goal
    })
  }
}

print()
print(`### Server CPU per DISCOVER reply by traffic shape (memory store, 50 back; median of ${rounds} rounds of ${loadMs / 1000} s; today = ${baselineName})`)
print()
print(formatTable(['shape', 'code', 'server CPU µs/OK', 'each round', 'goal', 'met', 'OK/s', 'p50 ms', 'failed'], shapeRows.map(r => [
  r.shape, r.code, fmt(r.cpuMicrosPerOk), r.cpuEachRound.join(', '), `<= ${r.goal} µs`, r.code === 'today' || r.met == null ? '-' : r.met ? 'yes' : 'NO', fmt(r.okPerSecond), fmtMs(r.p50), String(r.failed)
])))

interface LegacyRow { store: string, code: string, rounds: number, honestCpuMicros?: number, rustCpuMicros?: number, rustDatabaseMicros?: number, rustPerSecond?: number, rustReturned?: number, honestAloneP50?: number, honestBesideP50?: number, honestReturned?: number }
const legacyRows: LegacyRow[] = []
for (const store of ['memory', 'postgres']) {
  for (const code of ['today', 'now'] as Code[]) {
    const found = legacyRounds.get(`${code}|${store}`) ?? []
    if (found.length === 0) {
      continue
    }
    legacyRows.push({
      store,
      code,
      rounds: found.length,
      rustCpuMicros: med(found.map(r => r.rustCpuMicros)),
      rustDatabaseMicros: med(found.map(r => r.rustDatabaseMicros)),
      rustPerSecond: med(found.map(r => r.rustPerSecond)),
      rustReturned: med(found.map(r => r.rustReturned)),
      honestAloneP50: med(found.map(r => r.honestAloneP50)),
      honestBesideP50: med(found.map(r => r.honestBesideP50)),
      honestReturned: med(found.map(r => r.honestReturned)),
      honestCpuMicros: med(found.map(r => r.honestCpuMicros))
    })
  }
}

if (legacyRows.length > 0) {
  print()
  print(`### A requester whose agent is ${RUST_AGENT} (legacy records only), ${LEGACY_FILL.toLocaleString('en-US')} standard registrations: 4 DISCOVERs of every namespace in flight (median of ${rounds} rounds of ${loadMs / 1000} s)`)
  print()
  print(formatTable(['store', 'code', 'server CPU µs per its DISCOVER', 'database CPU µs', 'its DISCOVER/s', 'it got', 'honest p50 ms alone', 'honest p50 ms beside it', 'honest got', 'server CPU µs per honest DISCOVER'], legacyRows.map(r => [
    r.store, r.code, fmt(r.rustCpuMicros), fmt(r.rustDatabaseMicros), fmt(r.rustPerSecond), fmt(r.rustReturned), fmtMs(r.honestAloneP50), fmtMs(r.honestBesideP50), fmt(r.honestReturned), fmt(r.honestCpuMicros)
  ])))
}

for (const { label, summary } of profiles) {
  print()
  print(`### CPU profile: ${label} (${summary.samples} samples)`)
  print()
  const inclusive = new Map(summary.inclusive.map(p => [p.name, p.share]))
  const share = (v: number | undefined): string => v == null ? '-' : `${(v * 100).toFixed(1)}%`
  print(formatTable(['part of the code', 'self time', 'with what it called'], summary.parts.map(p => [p.name, share(p.share), share(inclusive.get(p.name))])))
  print()
  print(formatTable(['function', 'self time'], summary.functions.map(f => [f.name, share(f.share)])))
}

for (const reason of skipped) {
  print(`\nskipped: ${reason}`)
}

const outName = args.get('out') ?? (quick ? 'quick/server-shapes' : profiling ? 'profiles/server-shapes' : only != null || args.has('load-ms') || args.has('rounds') ? 'partial/server-shapes' : 'server-shapes')
const jsonPath = new URL(`../results/${outName}.json`, import.meta.url)
await mkdir(new URL('.', jsonPath), { recursive: true })
await writeFile(jsonPath, JSON.stringify({
  meta: { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg(), quick, profiling, rounds, loadMs, baseline: 'skipped' in baseline ? null : baseline.commit },
  shapes: shapeRows,
  shapeRounds: Object.fromEntries(shapeRounds),
  legacyReader: legacyRows,
  legacyRounds: Object.fromEntries(legacyRounds),
  profiles,
  skipped
}, null, 2))
print()
print(`wrote ${fileURLToPath(jsonPath)}`)
process.exit(0)
