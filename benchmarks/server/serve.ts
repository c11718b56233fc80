/**
 * Server process: one rendezvous server on TCP 127.0.0.1 with a memory or PostgreSQL store, optionally filled
 * first. Prints one JSON line when ready, then answers `stats` on stdin with its CPU and memory, and stops on
 * `exit` (or when stdin closes).
 *
 * npx node --experimental-transform-types --expose-gc benchmarks/server/serve.ts --store memory --fill 100000
 */
import { createInterface } from 'node:readline'
import postgres from 'postgres'
import { rendezvousServer } from '../../src/server/index.ts'
import { PostgresRegistrationStore } from '../../src/server/store/postgres-store.ts'
import { parseArgs } from '../lib/child.ts'
import { createBenchNode } from '../lib/nodes.ts'
import { fillStore } from './fill.ts'
import type { RendezvousServer } from '../../src/server/index.ts'
import type { RegistrationStore } from '../../src/server/store/registration-store.ts'

const MiB = 1024 * 1024
const args = parseArgs(process.argv.slice(2))
const storeKind = args.get('store') ?? 'memory'
const fill = Number(args.get('fill') ?? 0)
const pgUrl = process.env.RENDEZVOUS_TEST_POSTGRES_URL
// a schema of its own, dropped at exit, so that the benchmark never sees nor leaves other data
const pgSchema = `bench_${process.pid}`

function gc (): void {
  (globalThis as any).gc?.()
}

let store: RegistrationStore | undefined
if (storeKind === 'postgres') {
  if (pgUrl == null) {
    throw new Error('RENDEZVOUS_TEST_POSTGRES_URL is not set')
  }
  store = new PostgresRegistrationStore({ url: pgUrl, schema: pgSchema, maxConnections: 10 })
}

const node = await createBenchNode({
  transport: 'tcp',
  start: true,
  services: {
    rendezvous: rendezvousServer({ store, maxRegistrationsTotal: 10_000_000 })
  },
  connectionManager: { maxConnections: 10_000 }
})
const server = node.services.rendezvous as RendezvousServer

gc()
const before = process.memoryUsage()
const filled = fill > 0 ? await fillStore(server.store, { count: fill, concurrency: storeKind === 'postgres' ? 16 : 1 }) : undefined
gc()
const after = process.memoryUsage()

process.stdout.write(`${JSON.stringify({
  ready: true,
  addrs: node.getMultiaddrs().map(String),
  protocol: '/rendezvous/1.0.0',
  fill: filled == null
    ? undefined
    : {
        ...filled,
        heapBytesPerRegistration: (after.heapUsed + after.external + after.arrayBuffers - before.heapUsed - before.external - before.arrayBuffers) / fill,
        rssBytesPerRegistration: (after.rss - before.rss) / fill,
        rssMiB: after.rss / MiB
      }
})}\n`)

const cpuStart = process.cpuUsage()
let stopping = false

async function stop (): Promise<void> {
  if (stopping) {
    return
  }
  stopping = true
  await node.stop()
  if (storeKind === 'postgres' && pgUrl != null) {
    const sql = postgres(pgUrl, { onnotice: () => {} })
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`)
    await sql.end()
  }
  process.exit(0)
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === 'stats') {
    const cpu = process.cpuUsage(cpuStart)
    process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.memoryUsage.rss() / MiB })}\n`)
  } else if (line.trim() === 'exit') {
    void stop()
  }
})
lines.on('close', () => { void stop() })
