/**
 * One PostgreSQL store, no libp2p: refresh REGISTERs straight through the store's `register` for a while, as many
 * at once as asked. Several of these processes on one schema are a fleet, each with its own CPU, as servers are.
 * It shows what the store and the database can do once libp2p's cost per request is out of the way (on a machine
 * with few cores, the servers' libp2p work and the database compete for the same CPU).
 *
 * Prints `{"ready":true}` once its peers are registered, waits for `go` on stdin (so that a fleet starts its load
 * together), prints its result as one JSON line, and stops when stdin closes.
 *
 * npx node --experimental-transform-types benchmarks/server/store-load.ts --schema s --concurrency 16 --ms 5000
 *
 * - `--src <dir>`: the source tree to run (default: ../../src; baseline.ts gives an older commit's)
 * - `--schema <name>`: the PostgreSQL schema, created by the first store to start, dropped by the caller
 * - `--concurrency <n>`: REGISTERs in flight (and the store's connections)
 * - `--ms <n>`: how long the load runs
 * - `--peers <n>`: peers this process registers and refreshes in turn (default 200); their ids carry `--tag`
 * - `--tag <text>`: what tells this process's peers from the rest of the fleet's
 */
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from '../lib/child.ts'
import { summarize } from '../lib/stats.ts'
import { sampleEnvelope } from './fill.ts'
import type { RegisterInput } from '../../src/server/store/registration-store.ts'

type PostgresModule = typeof import('../../src/server/store/postgres-store.ts')

const args = parseArgs(process.argv.slice(2))
const src = args.get('src') ?? fileURLToPath(new URL('../../src', import.meta.url))
const schema = args.get('schema') ?? `bench_store_${process.pid}`
const concurrency = Number(args.get('concurrency') ?? 16)
const durationMs = Number(args.get('ms') ?? 5000)
const peers = Number(args.get('peers') ?? 200)
const tag = args.get('tag') ?? String(process.pid)
const url = process.env.RENDEZVOUS_TEST_POSTGRES_URL

if (url == null) {
  throw new Error('RENDEZVOUS_TEST_POSTGRES_URL is not set')
}

const { PostgresRegistrationStore }: PostgresModule = await import(pathToFileURL(`${src}/server/store/postgres-store.ts`).href)
const store = new PostgresRegistrationStore({ url, schema, maxConnections: concurrency })
await store.start()

const envelope = await sampleEnvelope()
const limits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 10_000_000 }
const input = (i: number): RegisterInput => ({
  peerId: `12D3KooWStore${tag}x${i}`,
  namespace: 'bench/store',
  signedPeerRecord: envelope,
  recordSeq: 1n,
  expiresAt: Date.now() + 60 * 60 * 1000
})

/** `concurrency` workers, worker w taking peers w, w + concurrency, …: no two in flight for one peer */
async function run (until: () => boolean, each: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = w; !until(); i += concurrency) {
      await each(i % peers)
    }
  }))
}

// first registrations, so that the load measures refreshes
let primed = 0
await run(() => primed >= peers, async i => {
  primed++
  const outcome = await store.register(input(i), limits, Date.now())
  if (!outcome.ok) {
    throw new Error(`priming REGISTER refused: ${outcome.reason}`)
  }
})

process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
const lines = createInterface({ input: process.stdin })
const stdinClosed = new Promise<void>(resolve => { lines.once('close', resolve) })
await new Promise<void>(resolve => {
  lines.on('line', line => {
    if (line.trim() === 'go') {
      resolve()
    }
  })
})

const latencies: number[] = []
let failed = 0
const cpuStart = process.cpuUsage()
const started = performance.now()
const deadline = started + durationMs
await run(() => performance.now() >= deadline, async i => {
  const t0 = performance.now()
  try {
    const outcome = await store.register(input(i), limits, Date.now())
    if (outcome.ok) {
      latencies.push(performance.now() - t0)
    } else {
      failed++
    }
  } catch {
    failed++
  }
})
const wallMs = performance.now() - started
const cpu = process.cpuUsage(cpuStart)

process.stdout.write(`${JSON.stringify({
  ok: latencies.length,
  failed,
  okPerSecond: latencies.length / (wallMs / 1000),
  latency: summarize(latencies),
  wallMs,
  cpuMicrosPerOk: latencies.length === 0 ? null : (cpu.user + cpu.system) / latencies.length
})}\n`)
// the connections stay open until the caller has read the database's CPU (stdin closes): their time counts
await stdinClosed
await store.stop()
process.exit(0)
