/**
 * Server process: one rendezvous server on TCP 127.0.0.1 with a memory or PostgreSQL store, optionally filled
 * first. Prints one JSON line when ready, then answers `stats` on stdin with its CPU and memory, `memory` with its
 * heap and external memory after a full collection (what it holds live) and its RSS, `profile-start`
 * and `profile-stop <file>` by profiling its CPU in between (V8's profiler, the `.cpuprofile` of `node --cpu-prof`,
 * but only over the load), and stops on `exit` (or when stdin closes).
 *
 * The server's code comes from `--src` (default: this checkout's `src/`): the benchmark points it at an older
 * commit's `src/` (see baseline.ts) to measure that code in the same run.
 *
 * npx node --experimental-transform-types --expose-gc benchmarks/server/serve.ts --store memory --fill 100000
 *
 * - `--src <dir>`: the source tree to run (default: ../../src)
 * - `--store memory|postgres`
 * - `--fill <n>`: registrations written before the ready line
 * - `--fill-method api|sql`: through the store's register (default), or in bulk with SQL (PostgreSQL only)
 * - `--fill-record-addresses <n>`: addresses in the record the filled registrations carry (default 1: ~150 bytes)
 * - `--schema <name>`: PostgreSQL schema (default: bench_<pid>, dropped at exit); processes given the same one form a fleet
 * - `--keep-schema`: do not drop the schema at exit (the process that starts the fleet drops it)
 * - `--pg-connections <n>`: the store's connections (default 10)
 * - `--record-cache <n>`: verifiedRecordCacheSize (0: check every record); the server's default if absent
 * - `--merge-once`: what an upstream change would save (see shapes.ts): the node's peer store takes libp2p's merge
 * of a stream's protocol into the remote peer's record once per peer and protocol, not for every incoming stream
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import postgres from 'postgres'
import { parseArgs } from '../lib/child.ts'
import { createBenchNode } from '../lib/nodes.ts'
import { fillStore, fillSql } from './fill.ts'
import type { RendezvousServer } from '../../src/server/index.ts'
import type { RegistrationStore } from '../../src/server/store/registration-store.ts'

type ServerModule = typeof import('../../src/server/index.ts')
type PostgresModule = typeof import('../../src/server/store/postgres-store.ts')

const MiB = 1024 * 1024
const args = parseArgs(process.argv.slice(2))
const src = args.get('src') ?? fileURLToPath(new URL('../../src', import.meta.url))
const storeKind = args.get('store') ?? 'memory'
const fill = Number(args.get('fill') ?? 0)
const fillMethod = args.get('fill-method') ?? 'api'
const pgUrl = process.env.RENDEZVOUS_TEST_POSTGRES_URL
// a schema of its own by default, dropped at exit, so that the benchmark never sees nor leaves other data
const pgSchema = args.get('schema') ?? `bench_${process.pid}`
const dropSchema = !args.has('keep-schema')
const recordCache = args.get('record-cache')

function gc (): void {
  (globalThis as any).gc?.()
}

const serverModule: ServerModule = await import(pathToFileURL(`${src}/server/index.ts`).href)

let store: RegistrationStore | undefined
if (storeKind === 'postgres') {
  if (pgUrl == null) {
    throw new Error('RENDEZVOUS_TEST_POSTGRES_URL is not set')
  }
  const { PostgresRegistrationStore }: PostgresModule = await import(pathToFileURL(`${src}/server/store/postgres-store.ts`).href)
  store = new PostgresRegistrationStore({ url: pgUrl, schema: pgSchema, maxConnections: Number(args.get('pg-connections') ?? 10) })
} else if ('MemoryRegistrationStore' in serverModule) {
  // room for the largest fill (1M registrations hold ~1.1 GiB, past the default byte budget of 1 GiB)
  store = new serverModule.MemoryRegistrationStore({ maxBytes: 8 * 1024 * 1024 * 1024 })
}

const node = await createBenchNode({
  transport: 'tcp',
  start: true,
  services: {
    rendezvous: serverModule.rendezvousServer({
      store,
      maxRegistrationsTotal: 10_000_000,
      // room for every kept stream of the load's clients on one connection
      maxInboundStreams: 128,
      ...(recordCache == null ? {} : { verifiedRecordCacheSize: Number(recordCache) })
    })
  },
  connectionManager: { maxConnections: 10_000 }
})
const server = node.services.rendezvous as RendezvousServer

if (args.has('merge-once')) {
  // libp2p's Connection.onIncomingStream calls peerStore.merge(remotePeer, { protocols: [protocol] }) for every
  // incoming stream, under the peer's lock; after the first, the peer already lists the protocol
  const peerStore = (node as any).components.peerStore
  const merge = peerStore.merge.bind(peerStore)
  const merged = new Map<string, Set<string>>()
  peerStore.merge = async (peerId: any, data: any, options: any): Promise<unknown> => {
    const keys = Object.keys(data)
    if (keys.length === 1 && keys[0] === 'protocols' && data.protocols.length === 1) {
      const key = peerId.toString()
      const protocols = merged.get(key) ?? new Set<string>()
      merged.set(key, protocols)
      if (protocols.has(data.protocols[0])) {
        return undefined
      }
      protocols.add(data.protocols[0])
    }
    return merge(peerId, data, options)
  }
}

gc()
const before = process.memoryUsage()
let filled
if (fill > 0 && fillMethod === 'sql' && storeKind === 'postgres' && pgUrl != null) {
  filled = await fillSql(pgUrl, pgSchema, { count: fill })
} else if (fill > 0) {
  filled = await fillStore(server.store, { count: fill, concurrency: storeKind === 'postgres' ? 16 : 1, recordAddresses: Number(args.get('fill-record-addresses') ?? 1) })
}
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
  if (storeKind === 'postgres' && pgUrl != null && dropSchema) {
    const sql = postgres(pgUrl, { onnotice: () => {} })
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`)
    await sql.end()
  }
  process.exit(0)
}

let profiler: Session | undefined

async function profileStart (): Promise<void> {
  profiler = new Session()
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.start')
}

async function profileStop (file: string): Promise<void> {
  const { profile } = await profiler!.post('Profiler.stop')
  profiler?.disconnect()
  profiler = undefined
  await writeFile(file, JSON.stringify(profile))
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const [command, argument] = line.trim().split(/\s+/, 2)

  if (command === 'profile-start' || command === 'profile-stop') {
    (command === 'profile-start' ? profileStart() : profileStop(argument)).then(
      () => { process.stdout.write(`${JSON.stringify({ ok: true })}\n`) },
      (err: any) => { process.stdout.write(`${JSON.stringify({ ok: false, error: err.message })}\n`) }
    )
  } else if (line.trim() === 'stats') {
    const cpu = process.cpuUsage(cpuStart)
    process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.memoryUsage.rss() / MiB })}\n`)
  } else if (line.trim() === 'memory') {
    // what the process holds live: after a full collection, so garbage not yet collected does not count
    gc()
    const memory = process.memoryUsage()
    process.stdout.write(`${JSON.stringify({ liveMiB: (memory.heapUsed + memory.external) / MiB, rssMiB: memory.rss / MiB })}\n`)
  } else if (line.trim() === 'exit') {
    void stop()
  }
})
lines.on('close', () => { void stop() })
