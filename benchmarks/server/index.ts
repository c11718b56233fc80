/**
 * Server throughput and scale, today's code beside the current one in the same run: REGISTER/s and DISCOVER/s
 * and the server's CPU per reply, for the memory and the PostgreSQL store (one server and a fleet of three on one
 * database), with requests on a new stream each and one after another on kept streams; canvas-js's rendezvous
 * server when it is installed (see canvas.ts); the cost of the signature check alone; the PostgreSQL store alone,
 * without libp2p (store-load.ts: one store at 1 and 16 in flight, a fleet of three); DISCOVER latency at growing
 * store sizes; memory per registration. Each server runs in its own process on TCP 127.0.0.1; the load comes from
 * this one.
 *
 * "Today" is the server's source at BASELINE_COMMIT (see baseline.ts), run by the same harness.
 *
 * npx node --experimental-transform-types benchmarks/server/index.ts [--quick] [--profile] [--baseline <commit>]
 * [--only <text>] [--load-ms <ms>] [--loads register,discover]
 *
 * - `--profile`: profile every server's CPU over each load (V8's profiler, as `node --cpu-prof` runs it) and print
 * where it went; the profiler slows the servers, so these runs are not for the figures
 * - `--only`: run only the throughput rows whose "<store> <variant>" contains this text (`store alone`: the store
 * without libp2p only), and no scale rows
 * - `--load-ms`: how long each load runs
 * - `--loads`: which loads to run: register, discover or both (default), comma-separated
 *
 * Exit code: 1 when a row failed (its run threw, or it served no request at all) or, unfiltered, when nothing was
 * measured; speed never fails it. What cannot run here for a documented reason (no PostgreSQL URL, no baseline
 * commit in git, canvas not installed) is skipped, each printed as a `skipped: <reason>` line for CI to check.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import postgres from 'postgres'
import { openPeerRecord, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { NODE_FLAGS, parseArgs } from '../lib/child.ts'
import { summarizeProfile } from '../lib/cpu-profile.ts'
import { JsonLinesChild } from '../lib/json-lines-child.ts'
import { print, progress } from '../lib/print.ts'
import { fmtMs, summarize } from '../lib/stats.ts'
import { formatTable } from '../lib/table.ts'
import { BASELINE_COMMIT, baselineSource } from './baseline.ts'
import { CANVAS_DIR, canvasSetup } from './canvas.ts'
import { databaseCpuMs, isLocalDatabase } from './database-cpu.ts'
import { TARGET_NAMESPACE } from './fill.ts'
import { primeRegistrations, runLoad, startClients, stopClients } from './load.ts'
import { discoverRequest, statusOf } from './raw-client.ts'
import { ServerProcess } from './server-process.ts'
import type { Client, LoadKind, LoadResult } from './load.ts'
import type { StreamMode } from './raw-client.ts'
import type { ProfileSummary } from '../lib/cpu-profile.ts'
import type { LatencySummary } from '../lib/stats.ts'

type StoreKind = 'memory' | 'postgres'
type Code = 'today' | 'now'

interface Plan {
  /** Client nodes per server */
  clients: number
  /** Requests in flight per client */
  concurrency: number
  /**
   * PostgreSQL runs: clients per server and requests in flight per client (16 in flight per server). One request
   * at a time per client: a peer's registrations change one at a time (its advisory lock), so 16 in flight means
   * 16 peers
   */
  pgClients: number
  pgConcurrency: number
  loadMs: number
  /** Namespaces each client registers in, once before a REGISTER load (which then measures refreshes) */
  namespaces: number
  /** Registrations in the store during the throughput runs */
  throughputFill: number
  /** Servers of the PostgreSQL fleet; 0 skips it */
  fleet: number
  scaleSizes: { memory: number[], postgres: number[], postgresToday: number[], canvas: number[] }
  /** Sequential DISCOVERs per size */
  scaleRequests: number
  signatureMs: number
  /** The store alone (store-load.ts): how long each load runs, and the REGISTERs in flight per store it compares with one */
  storeMs: number
  storeConcurrency: number
}

/** Proves every part still runs; its figures are too short to quote */
const QUICK: Plan = {
  clients: 2,
  concurrency: 8,
  pgClients: 16,
  pgConcurrency: 1,
  loadMs: 1000,
  namespaces: 50,
  throughputFill: 200,
  fleet: 3,
  scaleSizes: { memory: [2000], postgres: [2000], postgresToday: [], canvas: [] },
  scaleRequests: 50,
  signatureMs: 300,
  storeMs: 1000,
  storeConcurrency: 16
}

const FULL: Plan = {
  clients: 8,
  concurrency: 16,
  pgClients: 16,
  pgConcurrency: 1,
  loadMs: 10_000,
  namespaces: 500,
  throughputFill: 1000,
  fleet: 3,
  // the PostgreSQL store is filled in bulk with SQL (fill.ts); today's stops at 10k as before
  scaleSizes: { memory: [1000, 100_000, 1_000_000], postgres: [1000, 10_000, 100_000, 1_000_000], postgresToday: [1000, 10_000], canvas: [1000, 100_000, 1_000_000] },
  scaleRequests: 1000,
  signatureMs: 3000,
  storeMs: 5000,
  storeConcurrency: 16
}

/** Registrations asked per DISCOVER under load: under canvas's default cap (64), so every server returns the same page */
const DISCOVER_LIMIT = 50

/** What a throughput row ran: which code, how requests travel, whether records are checked once */
interface Variant {
  code: Code
  mode: StreamMode
  /** verifiedRecordCacheSize given to the server; undefined: its default (today's code has no cache) */
  recordCache?: number
  label: string
}

const MEMORY_VARIANTS: Variant[] = [
  { code: 'today', mode: 'stream-per-request', label: 'today: stream per request, no record cache' },
  { code: 'now', mode: 'stream-per-request', label: 'now: stream per request' },
  { code: 'now', mode: 'open-streams', recordCache: 0, label: 'now: open streams, record cache off' },
  { code: 'now', mode: 'open-streams', label: 'now: open streams' }
]

const POSTGRES_VARIANTS: Variant[] = [
  { code: 'today', mode: 'stream-per-request', label: 'today: advisory lock, stream per request' },
  { code: 'now', mode: 'stream-per-request', label: 'now: stream per request' },
  { code: 'now', mode: 'open-streams', label: 'now: open streams' }
]

const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const profiling = args.has('profile')
const only = args.get('only')
const plan = { ...(quick ? QUICK : FULL) }
const onlyLoads = args.get('loads')?.split(',')
const loadsOf = (loads: LoadKind[]): LoadKind[] => onlyLoads == null ? loads : loads.filter(kind => onlyLoads.includes(kind))
if (args.has('load-ms')) {
  plan.loadMs = Number(args.get('load-ms'))
}
const here = fileURLToPath(new URL('.', import.meta.url))
const profileDir = fileURLToPath(new URL('../results/profiles/', import.meta.url))
const pgUrl = process.env.RENDEZVOUS_TEST_POSTGRES_URL
const skipped: string[] = []
/** Rows that could not run, or that measured nothing: any of them makes the exit code 1 */
const failed: string[] = []
const startedAt = new Date()
const loadBefore = loadavg()
const profiles: Array<{ label: string, summary: ProfileSummary }> = []

const baseline = await baselineSource(args.get('baseline') ?? BASELINE_COMMIT)
if ('skipped' in baseline) {
  skipped.push(baseline.skipped)
}

interface StartOptions {
  code: Code
  store: StoreKind
  fill: number
  fillMethod?: 'api' | 'sql'
  recordCache?: number
  /** A schema shared by a fleet, dropped by the caller */
  schema?: string
}

/** The database's CPU so far (ms), when it runs on this machine */
async function databaseCpu (): Promise<number | undefined> {
  return pgUrl != null && isLocalDatabase(pgUrl) ? databaseCpuMs() : undefined
}

function fileLabel (label: string): string {
  return label.replace(/[^a-z0-9]+/gi, '_')
}

/** Starts one of our servers; undefined when its code is not available (no baseline) */
async function startServer (options: StartOptions): Promise<ServerProcess | undefined> {
  const src = options.code === 'today' ? ('skipped' in baseline ? undefined : baseline.src) : undefined

  if (options.code === 'today' && src == null) {
    return undefined
  }

  return ServerProcess.start(process.execPath, [
    ...NODE_FLAGS, '--expose-gc', '--max-old-space-size=8192', `${here}serve.ts`,
    '--store', options.store, '--fill', String(options.fill), '--fill-method', options.fillMethod ?? 'api',
    ...(src == null ? [] : ['--src', src]),
    ...(options.recordCache == null ? [] : ['--record-cache', String(options.recordCache)]),
    ...(options.schema == null ? [] : ['--schema', options.schema, '--keep-schema'])
  ], { timeoutMs: 120_000 + options.fill / 5 })
}

async function startCanvas (fill: number): Promise<ServerProcess | undefined> {
  const setup = await canvasSetup()
  if (setup.args == null || setup.node == null) {
    return undefined
  }
  return ServerProcess.start(setup.node, [...setup.args, String(fill)], { cwd: CANVAS_DIR, timeoutMs: 60_000 + fill / 5 })
}

async function stopServers (servers: ServerProcess[]): Promise<void> {
  await Promise.all(servers.map(async server => server.stop()))
}

async function dropSchema (schema: string): Promise<void> {
  if (pgUrl == null) {
    return
  }
  const sql = postgres(pgUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

// --- 1. the signature check alone
interface SignatureCost { openPerSecond: number, openMicros: number, sealPerSecond: number, sealMicros: number }

async function signatureCost (): Promise<SignatureCost> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/127.0.0.1/udp/4001/quic-v1')]
  const timed = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 200; i++) {
      await fn()
    }
    let n = 0
    const start = performance.now()
    while (performance.now() - start < plan.signatureMs) {
      await fn()
      n++
    }
    return n / ((performance.now() - start) / 1000)
  }
  const envelope = await sealPeerRecord(key, peerId, addrs)
  const openPerSecond = await timed(async () => openPeerRecord(envelope))
  const sealPerSecond = await timed(async () => sealPeerRecord(key, peerId, addrs))
  return { openPerSecond, openMicros: 1e6 / openPerSecond, sealPerSecond, sealMicros: 1e6 / sealPerSecond }
}

// --- 2. throughput
interface ThroughputRow extends LoadResult {
  store: StoreKind | 'canvas'
  variant: string
  code: Code | 'canvas'
  mode: StreamMode
  servers: number
  /** Server CPU per OK reply, in µs (all servers together) */
  serverCpuMicrosPerOk: number
  /** Server CPU used over the run divided by its wall time, all servers together: 1.0 is one core busy */
  serverCores: number
  /** CPU of the database server per OK reply, µs (PostgreSQL on this machine only, see database-cpu.ts) */
  databaseCpuMicrosPerOk?: number
}

interface ThroughputRun {
  store: StoreKind | 'canvas'
  variant: Variant | { code: 'canvas', mode: StreamMode, label: string }
  servers: ServerProcess[]
  clientsPerServer: number
  concurrency: number
  loads: LoadKind[]
}

/** Runs each load against every server of the run at once, clients of their own per server */
async function measure (run: ThroughputRun): Promise<ThroughputRow[]> {
  const clients: Client[] = []
  const rows: ThroughputRow[] = []

  try {
    for (const server of run.servers) {
      clients.push(...await startClients(run.clientsPerServer, server.target, server.ready.protocol, run.variant.mode))
    }

    for (const kind of run.loads) {
      if (kind === 'register') {
        progress(`${run.store} ${run.variant.label}: registering every client in ${plan.namespaces} namespaces first`)
        // a few at a time per client: one peer's registrations are written one at a time anyway
        await primeRegistrations(clients, plan.namespaces, Math.max(run.concurrency, 4))
      }

      progress(`${run.store} ${run.variant.label}: ${kind} load, ${run.servers.length} server(s) x ${run.clientsPerServer} clients x ${run.concurrency} in flight, ${plan.loadMs / 1000} s`)
      const profiled = profiling && run.store !== 'canvas'
      if (profiled) {
        await Promise.all(run.servers.map(async server => server.profileStart()))
      }
      const before = await Promise.all(run.servers.map(async server => server.stats()))
      const databaseBefore = run.store === 'postgres' ? await databaseCpu() : undefined
      const result = await runLoad(clients, {
        kind,
        clients: clients.length,
        concurrency: run.concurrency,
        durationMs: plan.loadMs,
        namespaces: plan.namespaces,
        discoverNamespace: TARGET_NAMESPACE,
        discoverLimit: DISCOVER_LIMIT
      })
      const databaseAfter = run.store === 'postgres' ? await databaseCpu() : undefined
      const after = await Promise.all(run.servers.map(async server => server.stats()))
      if (profiled) {
        const label = `${run.store} ${run.variant.label}${run.servers.length > 1 ? `, ${run.servers.length} servers` : ''}: ${kind}`
        await Promise.all(run.servers.map(async (server, i) => {
          const file = `${profileDir}${fileLabel(label)}-${i}.cpuprofile`
          await server.profileStop(file)
          profiles.push({ label: `${label}${run.servers.length > 1 ? ` (server ${i + 1})` : ''}`, summary: await summarizeProfile(file) })
        }))
      }
      const cpuMs = after.reduce((sum, stats, i) => sum + stats.cpuMs - before[i].cpuMs, 0)
      rows.push({
        ...result,
        store: run.store,
        variant: run.variant.label,
        code: run.variant.code,
        mode: run.variant.mode,
        servers: run.servers.length,
        serverCpuMicrosPerOk: (result.statuses.OK ?? 0) === 0 ? NaN : cpuMs * 1000 / result.statuses.OK,
        serverCores: cpuMs / result.wallMs,
        databaseCpuMicrosPerOk: databaseBefore == null || databaseAfter == null || (result.statuses.OK ?? 0) === 0 ? undefined : (databaseAfter - databaseBefore) * 1000 / result.statuses.OK
      })
    }
  } finally {
    await stopClients(clients)
  }

  return rows
}

async function throughput (store: StoreKind, variant: Variant, servers: number, loads: LoadKind[]): Promise<ThroughputRow[]> {
  const schema = store === 'postgres' ? `bench_tp_${process.pid}_${Math.random().toString(36).slice(2, 8)}` : undefined
  const started: ServerProcess[] = []

  try {
    for (let i = 0; i < servers; i++) {
      // the first server fills the store; a fleet shares it
      const server = await startServer({ code: variant.code, store, fill: i === 0 ? plan.throughputFill : 0, fillMethod: 'sql', recordCache: variant.recordCache, schema })
      if (server == null) {
        return []
      }
      started.push(server)
    }

    const postgresLoad = store === 'postgres'
    return await measure({
      store,
      variant,
      servers: started,
      clientsPerServer: postgresLoad ? plan.pgClients : plan.clients,
      concurrency: postgresLoad ? plan.pgConcurrency : plan.concurrency,
      loads
    })
  } finally {
    await stopServers(started)
    if (schema != null) {
      await dropSchema(schema)
    }
  }
}

async function canvasThroughput (): Promise<ThroughputRow[]> {
  const server = await startCanvas(plan.throughputFill)
  if (server == null) {
    return []
  }
  try {
    return await measure({
      store: 'canvas',
      variant: { code: 'canvas', mode: 'stream-per-request', label: 'canvas (Node 20, SQLite)' },
      servers: [server],
      clientsPerServer: plan.clients,
      concurrency: plan.concurrency,
      loads: ['register', 'discover']
    })
  } finally {
    await server.stop()
  }
}

// --- 2b. the PostgreSQL store alone, without libp2p
interface StoreRow {
  code: Code
  /** Store processes on one schema (a fleet when more than one) */
  stores: number
  /** REGISTERs in flight per store */
  concurrency: number
  okPerSecond: number
  failed: number
  /** The slowest store's p50 and p99, ms */
  p50?: number
  p99?: number
  /** CPU of the store processes per REGISTER, µs (the database's own CPU is not in it) */
  cpuMicrosPerOk: number
  /** CPU of the database server per REGISTER, µs, when it runs on this machine (see database-cpu.ts) */
  databaseCpuMicrosPerOk?: number
}

interface StoreResult { ok: number, failed: number, okPerSecond: number, latency: LatencySummary, cpuMicrosPerOk: number | null }

/** Spawns store-load.ts; resolves once its peers are registered, with what starts its load and what it reports */
async function startStoreLoad (src: string | undefined, schema: string, concurrency: number, tag: string): Promise<{ go(): Promise<StoreResult>, end(): Promise<void> }> {
  const load = new JsonLinesChild('store-load', process.execPath, [
    ...NODE_FLAGS, `${here}store-load.ts`, '--schema', schema, '--concurrency', String(concurrency), '--ms', String(plan.storeMs), '--tag', tag,
    ...(src == null ? [] : ['--src', src])
  ])
  // a bound on the whole of its life: registering its peers, the load, and its result
  const cancel = load.killAfter(120_000 + plan.storeMs)
  try {
    await load.next()
  } catch (err) {
    cancel()
    throw err
  }
  return {
    go: async () => load.request('go'),
    end: async () => {
      await load.end()
      cancel()
    }
  }
}

async function storeAlone (code: Code, stores: number, concurrency: number): Promise<StoreRow | undefined> {
  const src = code === 'today' ? ('skipped' in baseline ? undefined : baseline.src) : undefined
  if (code === 'today' && src == null) {
    return undefined
  }
  const schema = `bench_store_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  progress(`postgres store alone (${code}): ${stores} store(s) x ${concurrency} in flight, ${plan.storeMs / 1000} s`)
  try {
    // one after another: the first creates the schema (today's code does not expect others to migrate at once)
    const loads: Array<Awaited<ReturnType<typeof startStoreLoad>>> = []
    let results: StoreResult[]
    let databaseMs: number | undefined
    try {
      for (let i = 0; i < stores; i++) {
        loads.push(await startStoreLoad(src, schema, concurrency, `s${i}`))
      }
      const databaseBefore = await databaseCpu()
      results = await Promise.all(loads.map(async load => load.go()))
      const databaseAfter = await databaseCpu()
      databaseMs = databaseBefore == null || databaseAfter == null ? undefined : databaseAfter - databaseBefore
    } finally {
      await Promise.all(loads.map(async load => load.end()))
    }
    const ok = results.reduce((sum, r) => sum + r.ok, 0)
    const p = (key: 'p50' | 'p99'): number | undefined => Math.max(...results.map(r => r.latency[key] ?? NaN))
    return {
      code,
      stores,
      concurrency,
      okPerSecond: results.reduce((sum, r) => sum + r.okPerSecond, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      p50: p('p50'),
      p99: p('p99'),
      cpuMicrosPerOk: ok === 0 ? NaN : results.reduce((sum, r) => sum + (r.cpuMicrosPerOk ?? 0) * r.ok, 0) / ok,
      databaseCpuMicrosPerOk: ok === 0 || databaseMs == null ? undefined : databaseMs * 1000 / ok
    }
  } finally {
    await dropSchema(schema)
  }
}

// --- 3. DISCOVER latency at scale, memory per registration
interface ScaleRow {
  server: StoreKind | 'canvas'
  code: Code | 'canvas'
  size: number
  fillPerSecond: number
  heapBytesPerRegistration?: number
  rssBytesPerRegistration?: number
  target: LatencySummary
  targetReturned: number
  /** DISCOVER of every namespace (field absent), limit 100 */
  all?: LatencySummary
  errors: number
}

async function scale (kind: StoreKind | 'canvas', code: Code, size: number): Promise<ScaleRow | undefined> {
  progress(`${kind} (${code}): filling ${size} registrations`)
  const server = kind === 'canvas' ? await startCanvas(size) : await startServer({ code, store: kind, fill: size, fillMethod: kind === 'postgres' ? 'sql' : 'api' })
  if (server == null) {
    return undefined
  }
  const [client] = await startClients(1, server.target, server.ready.protocol, 'stream-per-request')
  try {
    let errors = 0
    let returned = 0
    const measureLatency = async (ns: string | undefined): Promise<LatencySummary> => {
      const latencies: number[] = []
      for (let i = 0; i < plan.scaleRequests; i++) {
        const t0 = performance.now()
        try {
          const reply = await client.raw.request(discoverRequest(ns, 100), AbortSignal.timeout(10_000))
          latencies.push(performance.now() - t0)
          if (statusOf(reply) !== 'OK') {
            errors++
          }
          returned = reply.discoverResponse?.registrations.length ?? 0
        } catch {
          errors++
        }
      }
      return summarize(latencies)
    }
    const target = await measureLatency(TARGET_NAMESPACE)
    const targetReturned = returned
    // canvas reads an absent namespace as the literal '' and answers nothing: only ours is asked for "all"
    const all = kind === 'canvas' ? undefined : await measureLatency(undefined)
    return {
      server: kind,
      code: kind === 'canvas' ? 'canvas' : code,
      size,
      fillPerSecond: server.ready.fill?.perSecond ?? NaN,
      heapBytesPerRegistration: server.ready.fill?.heapBytesPerRegistration,
      rssBytesPerRegistration: server.ready.fill?.rssBytesPerRegistration,
      target,
      targetReturned,
      all,
      errors
    }
  } finally {
    await stopClients([client])
    await server.stop()
  }
}

// --- run
if (profiling) {
  await rm(profileDir, { recursive: true, force: true })
  await mkdir(profileDir, { recursive: true })
}

let synchronousCommit = '-'
if (pgUrl == null) {
  skipped.push('PostgreSQL store: RENDEZVOUS_TEST_POSTGRES_URL is not set')
} else {
  const sql = postgres(pgUrl, { max: 1, onnotice: () => {} })
  try {
    synchronousCommit = (await sql<Array<{ synchronous_commit: string }>>`SHOW synchronous_commit`)[0].synchronous_commit
  } finally {
    await sql.end({ timeout: 5 })
  }
}
const canvas = await canvasSetup()
if (canvas.skipped != null) {
  skipped.push(`@canvas-js/libp2p-rendezvous: ${canvas.skipped}`)
}

progress('signature check cost')
const signature = await signatureCost()

const throughputRows: ThroughputRow[] = []
const attempt = async (what: string, fn: () => Promise<ThroughputRow[]>): Promise<void> => {
  if (only != null && !what.includes(only)) {
    return
  }
  try {
    throughputRows.push(...await fn())
  } catch (err: any) {
    failed.push(`${what}: ${err.message}`)
  }
}

for (const variant of MEMORY_VARIANTS) {
  await attempt(`memory ${variant.label}`, async () => throughput('memory', variant, 1, loadsOf(['register', 'discover'])))
}

if (pgUrl != null) {
  for (const variant of POSTGRES_VARIANTS) {
    await attempt(`postgres ${variant.label}`, async () => throughput('postgres', variant, 1, loadsOf(['register', 'discover'])))
  }
  if (plan.fleet > 1) {
    for (const variant of [POSTGRES_VARIANTS[0], POSTGRES_VARIANTS[2]]) {
      await attempt(`postgres fleet ${variant.label}`, async () => throughput('postgres', variant, plan.fleet, loadsOf(['register'])))
    }
  }
}

if (canvas.skipped == null) {
  await attempt('canvas', canvasThroughput)
}

const storeRows: StoreRow[] = []
const storeRuns: Array<[Code, number, number]> = pgUrl == null || (only != null && !'postgres store alone'.includes(only))
  ? []
  : (['today', 'now'] as Code[]).flatMap(code => [[code, 1, 1], [code, 1, plan.storeConcurrency], [code, plan.fleet, plan.storeConcurrency]] as Array<[Code, number, number]>)
for (const [code, stores, concurrency] of storeRuns) {
  try {
    const row = await storeAlone(code, stores, concurrency)
    if (row != null) {
      storeRows.push(row)
    }
  } catch (err: any) {
    failed.push(`postgres store alone (${code}, ${stores} x ${concurrency}): ${err.message}`)
  }
}

const scaleRows: ScaleRow[] = []
const scaleRuns: Array<[StoreKind | 'canvas', Code, number[]]> = [
  ['memory', 'now', plan.scaleSizes.memory],
  ...(pgUrl == null ? [] : [['postgres', 'today', plan.scaleSizes.postgresToday], ['postgres', 'now', plan.scaleSizes.postgres]] as Array<[StoreKind, Code, number[]]>),
  ...(canvas.skipped == null ? [['canvas', 'now', plan.scaleSizes.canvas]] as Array<[StoreKind | 'canvas', Code, number[]]> : [])
]
for (const [kind, code, sizes] of only == null ? scaleRuns : []) {
  for (const size of sizes) {
    try {
      const row = await scale(kind, code, size)
      if (row != null) {
        scaleRows.push(row)
      }
    } catch (err: any) {
      failed.push(`${kind} (${code}) at ${size} registrations: ${err.message}`)
    }
  }
}

// a row that ran but served nothing measured nothing
for (const row of throughputRows) {
  if (!(row.okPerSecond > 0)) {
    failed.push(`${row.store} ${row.variant} (${row.kind}): no OK reply`)
  }
}
for (const row of storeRows) {
  if (!(row.okPerSecond > 0)) {
    failed.push(`postgres store alone (${row.code}, ${row.stores} x ${row.concurrency}): no REGISTER stored`)
  }
}
for (const row of scaleRows) {
  const asked = plan.scaleRequests * (row.all == null ? 1 : 2)
  if (row.errors >= asked) {
    failed.push(`${row.server} (${row.code}) at ${row.size} registrations: all ${asked} DISCOVERs failed`)
  }
}
if (only == null && throughputRows.length === 0) {
  failed.push('no throughput row was measured')
}

// --- report
const baselineName = 'skipped' in baseline ? 'unavailable' : `commit ${baseline.commit}`
print()
print('### Signature check alone (one Ed25519 record, two addresses, in this process)')
print()
print(formatTable(['operation', 'per second', 'µs each'], [
  ['openPeerRecord (server, every REGISTER)', signature.openPerSecond.toFixed(0), signature.openMicros.toFixed(0)],
  ['sealPeerRecord (client, every REGISTER)', signature.sealPerSecond.toFixed(0), signature.sealMicros.toFixed(0)]
]))

const statusText = (statuses: Record<string, number>): string => Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(', ')
const requestName = (r: ThroughputRow): string => r.kind === 'register' ? 'REGISTER (refresh)' : `DISCOVER (${DISCOVER_LIMIT} back)`
const throughputTable = (rows: ThroughputRow[], database = false): string => formatTable(
  ['server', 'request', 'OK/s', 'p50 ms', 'p99 ms', 'server CPU µs/OK', 'OK/s per server core', ...(database ? ['database CPU µs/OK'] : []), 'server cores', 'client cores', 'replies'],
  rows.map(r => [
    r.store === 'canvas' ? r.variant : `${r.variant}${r.servers > 1 ? `, ${r.servers} servers` : ''}`,
    requestName(r),
    r.okPerSecond.toFixed(0),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    Number.isNaN(r.serverCpuMicrosPerOk) ? '-' : r.serverCpuMicrosPerOk.toFixed(0),
    Number.isNaN(r.serverCpuMicrosPerOk) ? '-' : (1e6 / r.serverCpuMicrosPerOk).toFixed(0),
    ...(database ? [r.databaseCpuMicrosPerOk == null ? '-' : r.databaseCpuMicrosPerOk.toFixed(0)] : []),
    r.serverCores.toFixed(2),
    r.clientCores.toFixed(2),
    statusText(r.statuses)
  ])
)

print()
print(`### Throughput, memory store: ${plan.clients} clients x ${plan.concurrency} in flight, ${plan.loadMs / 1000} s each, TCP 127.0.0.1 (today = ${baselineName})`)
print()
print(throughputTable(throughputRows.filter(r => r.store === 'memory' || r.store === 'canvas')))

const pgRows = throughputRows.filter(r => r.store === 'postgres')
if (pgRows.length > 0) {
  print()
  print(`### Throughput, PostgreSQL store (synchronous_commit = ${synchronousCommit}): ${plan.pgClients} clients x ${plan.pgConcurrency} in flight per server, ${plan.loadMs / 1000} s each`)
  print()
  print(throughputTable(pgRows, true))
}

if (storeRows.length > 0) {
  print()
  print(`### The PostgreSQL store alone, without libp2p (synchronous_commit = ${synchronousCommit}): refresh REGISTERs through store.register, ${plan.storeMs / 1000} s each, each store in a process of its own`)
  print()
  print(formatTable(['store', 'stores', 'in flight per store', 'REGISTER/s (all stores)', 'x one store at 1', 'p50 ms', 'p99 ms', 'store process CPU µs/REGISTER', 'database CPU µs/REGISTER', 'failed'], storeRows.map(r => {
    const single = storeRows.find(o => o.code === r.code && o.stores === 1 && o.concurrency === 1)
    return [
      r.code === 'today' ? 'today: advisory lock' : 'now',
      String(r.stores),
      String(r.concurrency),
      r.okPerSecond.toFixed(0),
      single == null ? '-' : `${(r.okPerSecond / single.okPerSecond).toFixed(2)}x`,
      fmtMs(r.p50),
      fmtMs(r.p99),
      Number.isNaN(r.cpuMicrosPerOk) ? '-' : r.cpuMicrosPerOk.toFixed(0),
      r.databaseCpuMicrosPerOk == null ? '-' : r.databaseCpuMicrosPerOk.toFixed(0),
      String(r.failed)
    ]
  })))
}

/** Goals of issue 13, each with today's figure and the current one from this run */
interface Goal { goal: string, today?: number, now?: number, met?: boolean, unit: string }
const find = (store: string, label: string, kind: LoadKind, servers = 1): ThroughputRow | undefined =>
  throughputRows.find(r => r.store === store && r.variant === label && r.kind === kind && r.servers === servers)
const goals: Goal[] = []
{
  const today = (kind: LoadKind): ThroughputRow | undefined => find('memory', MEMORY_VARIANTS[0].label, kind)
  const perStream = (kind: LoadKind): ThroughputRow | undefined => find('memory', MEMORY_VARIANTS[1].label, kind)
  const open = (kind: LoadKind): ThroughputRow | undefined => find('memory', MEMORY_VARIANTS[3].label, kind)
  const cpu = (row?: ThroughputRow): number | undefined => row?.serverCpuMicrosPerOk
  const add = (goal: string, unit: string, today: number | undefined, now: number | undefined, met: (now: number) => boolean): void => {
    goals.push({ goal, unit, today, now, met: now == null || Number.isNaN(now) ? undefined : met(now) })
  }
  add('memory, open streams: server CPU per DISCOVER reply (50 registrations) <= 200 µs', 'µs', cpu(today('discover')), cpu(open('discover')), v => v <= 200)
  add('memory, open streams: server CPU per refresh REGISTER <= 250 µs', 'µs', cpu(today('register')), cpu(open('register')), v => v <= 250)
  add('memory, open streams: DISCOVER/s per server core >= 5,000', '/s', 1e6 / (cpu(today('discover')) ?? NaN), 1e6 / (cpu(open('discover')) ?? NaN), v => v >= 5000)
  add('memory, stream per request: server CPU per DISCOVER no worse than today', 'µs', cpu(today('discover')), cpu(perStream('discover')), v => v <= (cpu(today('discover')) ?? Infinity) * 1.05)
  add('memory, stream per request: server CPU per refresh REGISTER no worse than today', 'µs', cpu(today('register')), cpu(perStream('register')), v => v <= (cpu(today('register')) ?? Infinity) * 1.05)

  const pgToday = find('postgres', POSTGRES_VARIANTS[0].label, 'register')
  const pgNow = find('postgres', POSTGRES_VARIANTS[2].label, 'register')
  add(`PostgreSQL, one server, ${plan.pgClients * plan.pgConcurrency} in flight: REGISTER/s >= 2,000`, '/s', pgToday?.okPerSecond, pgNow?.okPerSecond, v => v >= 2000)
  const fleetToday = find('postgres', POSTGRES_VARIANTS[0].label, 'register', plan.fleet)
  const fleetNow = find('postgres', POSTGRES_VARIANTS[2].label, 'register', plan.fleet)
  const ratio = (fleet?: ThroughputRow, one?: ThroughputRow): number | undefined => fleet == null || one == null ? undefined : fleet.okPerSecond / one.okPerSecond
  add(`PostgreSQL, fleet of ${plan.fleet} on one database: REGISTER/s >= 2.5x one server's`, 'x', ratio(fleetToday, pgToday), ratio(fleetNow, pgNow), v => v >= 2.5)

  const store = (code: Code, stores: number, concurrency: number): StoreRow | undefined => storeRows.find(r => r.code === code && r.stores === stores && r.concurrency === concurrency)
  const c = plan.storeConcurrency
  add(`PostgreSQL store alone (no libp2p), one store, ${c} in flight: REGISTER/s >= 2,000`, '/s', store('today', 1, c)?.okPerSecond, store('now', 1, c)?.okPerSecond, v => v >= 2000)
  const storeRatio = (code: Code): number | undefined => {
    const fleet = store(code, plan.fleet, c)
    const one = store(code, 1, c)
    return fleet == null || one == null ? undefined : fleet.okPerSecond / one.okPerSecond
  }
  add(`PostgreSQL store alone, ${plan.fleet} stores x ${c} in flight on one database: REGISTER/s >= 2.5x one store's`, 'x', storeRatio('today'), storeRatio('now'), v => v >= 2.5)

  const pgScale = scaleRows.filter(r => r.server === 'postgres' && r.code === 'now' && r.target.p99 != null)
  if (pgScale.length >= 2) {
    const smallest = pgScale[0]
    const largest = pgScale[pgScale.length - 1]
    // flat: the largest store's p99 within 1.5x the smallest's (or 1 ms, for sub-millisecond noise)
    goals.push({
      goal: `PostgreSQL: DISCOVER p99 flat from ${smallest.size.toLocaleString('en-US')} to ${largest.size.toLocaleString('en-US')} registrations (p99 at the largest / at the smallest)`,
      unit: 'x',
      now: (largest.target.p99 ?? NaN) / (smallest.target.p99 ?? NaN),
      met: (largest.target.p99 ?? Infinity) <= Math.max((smallest.target.p99 ?? 0) * 1.5, (smallest.target.p99 ?? 0) + 1)
    })
  }
}

print()
print('### Goals of issue 13, today and now in this run')
print()
const fmtGoal = (v: number | undefined, unit: string): string => v == null || Number.isNaN(v) ? '-' : unit === 'x' ? `${v.toFixed(2)}x` : `${v.toFixed(0)}${unit === 'µs' ? ' µs' : '/s'}`
print(formatTable(['goal', 'today', 'now', 'met'], goals.map(g => [g.goal, fmtGoal(g.today, g.unit), fmtGoal(g.now, g.unit), g.met == null ? '-' : g.met ? 'yes' : 'NO'])))

print()
print(`### DISCOVER latency by store size (${plan.scaleRequests} sequential requests, limit 100, one client, a stream per request)`)
print()
print(formatTable(
  ['server', 'registrations', 'target ns p50 ms', 'p99 ms', 'returned', 'all ns p50 ms', 'p99 ms', 'bytes/registration (heap)', 'fill/s', 'errors'],
  scaleRows.map(r => [
    r.server === 'canvas' ? 'canvas (SQLite in memory)' : `${r.code}, ${r.server}`,
    r.size.toLocaleString('en-US'),
    fmtMs(r.target.p50),
    fmtMs(r.target.p99),
    String(r.targetReturned),
    fmtMs(r.all?.p50),
    fmtMs(r.all?.p99),
    r.heapBytesPerRegistration == null || r.server !== 'memory' ? '-' : r.heapBytesPerRegistration.toFixed(0),
    r.fillPerSecond.toFixed(0),
    String(r.errors)
  ])
))

for (const { label, summary } of profiles) {
  print()
  print(`### CPU profile: ${label} (${summary.samples} samples)`)
  print()
  const inclusive = new Map(summary.inclusive.map(p => [p.name, p.share]))
  const fmtShare = (share: number | undefined): string => share == null ? '-' : `${(share * 100).toFixed(1)}%`
  print(formatTable(['part of the code', 'self time', 'with what it called'], summary.parts.map(p => [p.name, fmtShare(p.share), fmtShare(inclusive.get(p.name))])))
  print()
  print(formatTable(['function', 'self time'], summary.functions.map(f => [f.name, `${(f.share * 100).toFixed(1)}%`])))
}

for (const reason of skipped) {
  print(`\nskipped: ${reason}`)
}

for (const reason of failed) {
  print(`\nfailed: ${reason}`)
}

// only a full, unfiltered, unprofiled run replaces the committed results
const outName = args.get('out') ?? (quick ? 'quick/server' : profiling ? 'profiles/server' : only != null || args.has('load-ms') || args.has('loads') ? 'partial/server' : 'server')
const jsonPath = new URL(`../results/${outName}.json`, import.meta.url)
await mkdir(new URL('.', jsonPath), { recursive: true })
await writeFile(jsonPath, JSON.stringify({
  meta: {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    quick,
    profiling,
    synchronousCommit,
    baseline: 'skipped' in baseline ? null : baseline.commit,
    plan,
    discoverLimit: DISCOVER_LIMIT
  },
  signature,
  throughput: throughputRows,
  storeAlone: storeRows,
  goals,
  scale: scaleRows,
  profiles,
  skipped,
  failed
}, null, 2))
print()
print(`wrote ${fileURLToPath(jsonPath)}`)
process.exit(failed.length === 0 ? 0 : 1)
