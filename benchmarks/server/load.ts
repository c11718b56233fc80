/**
 * The load generator: `clients` libp2p nodes, each keeping `concurrency` requests in flight for `durationMs`
 * against one server, on a new stream per request or one after another on kept streams (see raw-client.ts).
 * Counts replies by status and times every request.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { createBenchNode, stopAll } from '../lib/nodes.ts'
import { summarize } from '../lib/stats.ts'
import { discoverRequest, rawClient, registerRequest, statusOf } from './raw-client.ts'
import type { Message, RawClient, StreamMode } from './raw-client.ts'
import type { BenchNode } from '../lib/nodes.ts'
import type { LatencySummary } from '../lib/stats.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export type LoadKind = 'register' | 'discover'

export interface LoadInit {
  kind: LoadKind
  /** Client nodes, each with its own connection to the server */
  clients: number
  /** Requests in flight per client */
  concurrency: number
  durationMs: number
  /** Namespaces a REGISTER load cycles through per client (default 500, under the spec's 1000 per peer) */
  namespaces?: number
  /** Namespace a DISCOVER load asks for (default: the first REGISTER namespace) */
  discoverNamespace?: string
  /** Registrations a DISCOVER asks for. Default 100 */
  discoverLimit?: number
}

export interface LoadResult {
  kind: LoadKind
  clients: number
  concurrency: number
  requests: number
  /** Replies by status; transport errors under `error: <name>` */
  statuses: Record<string, number>
  /** OK replies per second of wall time */
  okPerSecond: number
  latency: LatencySummary
  /** Registrations returned per DISCOVER, on average */
  meanRegistrations?: number
  wallMs: number
  /** CPU the load generator (this process) used divided by wall time: near 1.0, the load generator is the limit */
  clientCores: number
}

export interface Client {
  node: BenchNode
  record: Uint8Array<ArrayBuffer>
  raw: RawClient
}

/** Client nodes with their signed records, connected to the server before the clock starts */
export async function startClients (count: number, target: Multiaddr, protocol: string, mode: StreamMode): Promise<Client[]> {
  const clients: Client[] = []
  for (let i = 0; i < count; i++) {
    const privateKey = await generateKeyPair('Ed25519')
    const node = await createBenchNode({ transport: 'tcp', start: true, privateKey })
    await node.dial(target)
    const sealed = await sealPeerRecord(privateKey, peerIdFromPrivateKey(privateKey), node.getMultiaddrs())
    // a copy on a plain ArrayBuffer, the type the generated protobuf code asks for
    const record = new Uint8Array(sealed)
    clients.push({ node, record, raw: rawClient(node, target, protocol, mode) })
  }
  return clients
}

export async function stopClients (clients: Client[]): Promise<void> {
  await Promise.all(clients.map(async c => c.raw.close().catch(() => {})))
  await stopAll(clients.map(c => c.node))
}

export const LOAD_NAMESPACE_PREFIX = 'load/ns-'

/**
 * Registers every client in every namespace a REGISTER load cycles through, before the clock starts, so that the
 * load measures refreshes (what a point mostly serves) rather than first registrations
 */
export async function primeRegistrations (clients: Client[], namespaces = 500, concurrency = 16): Promise<void> {
  await Promise.all(clients.map(async client => {
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < namespaces) {
        const reply = await client.raw.request(registerRequest(`${LOAD_NAMESPACE_PREFIX}${next++}`, client.record), AbortSignal.timeout(30_000))
        if (statusOf(reply) !== 'OK') {
          throw new Error(`priming REGISTER answered ${statusOf(reply)}`)
        }
      }
    }))
  }))
}

export async function runLoad (clients: Client[], init: LoadInit): Promise<LoadResult> {
  const namespaces = init.namespaces ?? 500
  const limit = init.discoverLimit ?? 100
  const statuses: Record<string, number> = {}
  const latencies: number[] = []
  let registrations = 0
  let discovers = 0
  const deadline = performance.now() + init.durationMs
  const started = performance.now()
  const cpuStart = process.cpuUsage()

  const worker = async (client: Client, w: number): Promise<void> => {
    let i = w
    while (performance.now() < deadline) {
      const request: Message = init.kind === 'register'
        ? registerRequest(`${LOAD_NAMESPACE_PREFIX}${i % namespaces}`, client.record)
        : discoverRequest(init.discoverNamespace ?? `${LOAD_NAMESPACE_PREFIX}0`, limit)
      i += init.concurrency
      const t0 = performance.now()
      try {
        const reply = await client.raw.request(request, AbortSignal.timeout(10_000))
        latencies.push(performance.now() - t0)
        const status = statusOf(reply)
        statuses[status] = (statuses[status] ?? 0) + 1
        if (reply.discoverResponse != null) {
          registrations += reply.discoverResponse.registrations.length
          discovers++
        }
      } catch (err: any) {
        const key = `error: ${err.name ?? 'Error'}`
        statuses[key] = (statuses[key] ?? 0) + 1
      }
    }
  }

  await Promise.all(clients.flatMap(client => Array.from({ length: init.concurrency }, async (_, w) => worker(client, w))))
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuStart)

  return {
    kind: init.kind,
    clients: clients.length,
    concurrency: init.concurrency,
    requests: latencies.length + Object.entries(statuses).filter(([k]) => k.startsWith('error')).reduce((a, [, v]) => a + v, 0),
    statuses,
    okPerSecond: (statuses.OK ?? 0) / (wallMs / 1000),
    latency: summarize(latencies),
    meanRegistrations: discovers === 0 ? undefined : registrations / discovers,
    wallMs,
    clientCores: (cpu.user + cpu.system) / 1000 / wallMs
  }
}
