/**
 * Server throughput and scale: REGISTER/s and DISCOVER/s under many concurrent client streams, for the memory
 * and the PostgreSQL store and for canvas-js's rendezvous server when it is installed (see canvas.ts);
 * the cost of the signature check alone; DISCOVER latency at growing store sizes; memory per registration.
 * Each server runs in its own process on TCP 127.0.0.1; the load comes from this one.
 *
 * npx node --experimental-transform-types benchmarks/server/index.ts [--quick]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { openPeerRecord, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { NODE_FLAGS, parseArgs } from '../lib/child.ts'
import { print, progress } from '../lib/print.ts'
import { fmtMs, summarize } from '../lib/stats.ts'
import { formatTable } from '../lib/table.ts'
import { CANVAS_DIR, canvasSetup } from './canvas.ts'
import { TARGET_NAMESPACE } from './fill.ts'
import { runLoad, startClients, stopClients } from './load.ts'
import { discoverRequest, exchange, statusOf } from './raw-client.ts'
import { ServerProcess } from './server-process.ts'
import type { LoadKind, LoadResult } from './load.ts'
import type { LatencySummary } from '../lib/stats.ts'

type ServerKind = 'memory' | 'postgres' | 'canvas'

interface Plan {
  clients: number
  concurrency: number
  loadMs: number
  /** Registrations in the store during the throughput runs */
  throughputFill: number
  scaleSizes: Record<ServerKind, number[]>
  /** Sequential DISCOVERs per size */
  scaleRequests: number
  signatureMs: number
}

/** Proves every part still runs; its figures are too short to quote */
const QUICK: Plan = {
  clients: 4,
  concurrency: 16,
  loadMs: 1500,
  throughputFill: 200,
  scaleSizes: { memory: [2000], postgres: [], canvas: [] },
  scaleRequests: 100,
  signatureMs: 500
}

const FULL: Plan = {
  clients: 8,
  concurrency: 16,
  loadMs: 10_000,
  throughputFill: 1000,
  // the PostgreSQL store registers one row per transaction under an advisory lock (a few hundred a second
  // here), so filling it through its API stops at 10k
  scaleSizes: { memory: [1000, 100_000, 1_000_000], postgres: [1000, 10_000], canvas: [1000, 100_000, 1_000_000] },
  scaleRequests: 1000,
  signatureMs: 3000
}

/** Registrations asked per DISCOVER under load: under canvas's default cap (64), so every server returns the same page */
const DISCOVER_LIMIT = 50

const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const plan = quick ? QUICK : FULL
const here = fileURLToPath(new URL('.', import.meta.url))
const pgUrl = process.env.RENDEZVOUS_TEST_POSTGRES_URL
const skipped: string[] = []
const startedAt = new Date()
const loadBefore = loadavg()

/** Starts a server of `kind` holding `fill` registrations; undefined when that kind cannot run here */
async function startServer (kind: ServerKind, fill: number): Promise<ServerProcess | undefined> {
  const timeoutMs = 60_000 + fill / 5
  if (kind === 'canvas') {
    const setup = await canvasSetup()
    if (setup.args == null || setup.node == null) {
      return undefined
    }
    return ServerProcess.start(setup.node, [...setup.args, String(fill)], { cwd: CANVAS_DIR, timeoutMs })
  }
  return ServerProcess.start(process.execPath, [...NODE_FLAGS, '--expose-gc', '--max-old-space-size=8192', `${here}serve.ts`, '--store', kind, '--fill', String(fill)], { timeoutMs })
}

async function serverKinds (): Promise<ServerKind[]> {
  const kinds: ServerKind[] = ['memory']
  if (pgUrl == null) {
    skipped.push('PostgreSQL store: RENDEZVOUS_TEST_POSTGRES_URL is not set')
  } else {
    kinds.push('postgres')
  }
  const canvas = await canvasSetup()
  if (canvas.skipped != null) {
    skipped.push(`@canvas-js/libp2p-rendezvous: ${canvas.skipped}`)
  } else {
    kinds.push('canvas')
  }
  return kinds
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
  server: ServerKind
  /** Server CPU per OK reply, in µs */
  serverCpuMicrosPerOk: number
  /** Server CPU used over the run divided by its wall time: 1.0 is one core busy */
  serverCores: number
}

async function throughput (kind: ServerKind): Promise<ThroughputRow[]> {
  const server = await startServer(kind, plan.throughputFill)
  if (server == null) {
    return []
  }
  const clients = await startClients(plan.clients, server.target)
  const rows: ThroughputRow[] = []
  try {
    for (const loadKind of ['register', 'discover'] as LoadKind[]) {
      progress(`${kind}: ${loadKind} load, ${plan.clients} clients x ${plan.concurrency} streams, ${plan.loadMs / 1000} s`)
      const before = await server.stats()
      const result = await runLoad(clients, {
        target: server.target,
        protocol: server.ready.protocol,
        kind: loadKind,
        clients: plan.clients,
        concurrency: plan.concurrency,
        durationMs: plan.loadMs,
        discoverNamespace: TARGET_NAMESPACE,
        discoverLimit: DISCOVER_LIMIT
      })
      const after = await server.stats()
      const cpuMs = after.cpuMs - before.cpuMs
      rows.push({
        ...result,
        server: kind,
        serverCpuMicrosPerOk: (result.statuses.OK ?? 0) === 0 ? NaN : cpuMs * 1000 / result.statuses.OK,
        serverCores: cpuMs / result.wallMs
      })
    }
  } finally {
    await stopClients(clients)
    await server.stop()
  }
  return rows
}

// --- 3. DISCOVER latency at scale, memory per registration
interface ScaleRow {
  server: ServerKind
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

async function scale (kind: ServerKind, size: number): Promise<ScaleRow | undefined> {
  progress(`${kind}: filling ${size} registrations`)
  const server = await startServer(kind, size)
  if (server == null) {
    return undefined
  }
  const [client] = await startClients(1, server.target)
  try {
    let errors = 0
    let returned = 0
    const measure = async (ns: string | undefined): Promise<LatencySummary> => {
      const latencies: number[] = []
      for (let i = 0; i < plan.scaleRequests; i++) {
        const t0 = performance.now()
        try {
          const reply = await exchange(client.node, server.target, server.ready.protocol, discoverRequest(ns, 100), AbortSignal.timeout(10_000))
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
    const target = await measure(TARGET_NAMESPACE)
    const targetReturned = returned
    // canvas reads an absent namespace as the literal '' and answers nothing: only ours is asked for "all"
    const all = kind === 'canvas' ? undefined : await measure(undefined)
    return {
      server: kind,
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
const kinds = await serverKinds()
for (const reason of skipped) {
  progress(`skipped: ${reason}`)
}

progress('signature check cost')
const signature = await signatureCost()

const throughputRows: ThroughputRow[] = []
for (const kind of kinds) {
  try {
    throughputRows.push(...await throughput(kind))
  } catch (err: any) {
    skipped.push(`${kind} throughput failed: ${err.message}`)
  }
}

const scaleRows: ScaleRow[] = []
for (const kind of kinds) {
  for (const size of plan.scaleSizes[kind]) {
    try {
      const row = await scale(kind, size)
      if (row != null) {
        scaleRows.push(row)
      }
    } catch (err: any) {
      skipped.push(`${kind} at ${size} registrations failed: ${err.message}`)
    }
  }
}

// --- report
print()
print('### Signature check alone (one Ed25519 record, two addresses, in this process)')
print()
print(formatTable(['operation', 'per second', 'µs each'], [
  ['openPeerRecord (server, every REGISTER)', signature.openPerSecond.toFixed(0), signature.openMicros.toFixed(0)],
  ['sealPeerRecord (client, every REGISTER)', signature.sealPerSecond.toFixed(0), signature.sealMicros.toFixed(0)]
]))

const statusText = (statuses: Record<string, number>): string => Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(', ')
print()
print(`### Throughput: ${plan.clients} clients x ${plan.concurrency} streams, one request per stream, ${plan.loadMs / 1000} s each, TCP 127.0.0.1`)
print()
print(formatTable(
  ['server', 'request', 'OK/s', 'p50 ms', 'p99 ms', 'server CPU µs/OK', 'server cores', 'client cores', 'replies'],
  throughputRows.map(r => [
    r.server === 'canvas' ? 'canvas (Node 20, SQLite)' : `ours, ${r.server} store`,
    r.kind === 'register' ? 'REGISTER' : `DISCOVER (${DISCOVER_LIMIT} back)`,
    r.okPerSecond.toFixed(0),
    fmtMs(r.latency.p50),
    fmtMs(r.latency.p99),
    Number.isNaN(r.serverCpuMicrosPerOk) ? '-' : r.serverCpuMicrosPerOk.toFixed(0),
    r.serverCores.toFixed(2),
    r.clientCores.toFixed(2),
    statusText(r.statuses)
  ])
))

const ours = throughputRows.filter(r => r.server === 'memory')
const canvas = throughputRows.filter(r => r.server === 'canvas')
const ratios: Array<{ request: string, okPerSecond: number, cpuPerOk: number }> = []
for (const kind of ['register', 'discover'] as LoadKind[]) {
  const a = ours.find(r => r.kind === kind)
  const b = canvas.find(r => r.kind === kind)
  if (a != null && b != null) {
    ratios.push({ request: kind, okPerSecond: a.okPerSecond / b.okPerSecond, cpuPerOk: a.serverCpuMicrosPerOk / b.serverCpuMicrosPerOk })
  }
}
if (ratios.length > 0) {
  print()
  print('Ours (memory store) / canvas, same run: ' + ratios.map(r => `${r.request.toUpperCase()} ${r.okPerSecond.toFixed(2)}x the rate at ${r.cpuPerOk.toFixed(2)}x the server CPU per reply`).join('; '))
}

print()
print(`### DISCOVER latency by store size (${plan.scaleRequests} sequential requests, limit 100, one client)`)
print()
print(formatTable(
  ['server', 'registrations', 'target ns p50 ms', 'p99 ms', 'returned', 'all ns p50 ms', 'p99 ms', 'bytes/registration (heap)', 'fill/s', 'errors'],
  scaleRows.map(r => [
    r.server === 'canvas' ? 'canvas (SQLite in memory)' : `ours, ${r.server}`,
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

for (const reason of skipped) {
  print(`\nskipped: ${reason}`)
}

const outName = args.get('out') ?? (quick ? 'quick/server' : 'server')
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
    plan,
    discoverLimit: DISCOVER_LIMIT
  },
  signature,
  throughput: throughputRows,
  ratios,
  scale: scaleRows,
  skipped
}, null, 2))
print()
print(`wrote ${fileURLToPath(jsonPath)}`)
process.exit(0)
