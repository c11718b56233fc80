/**
 * Child process entry of the validation: the real one-process run the simulator is compared with, and the CPU
 * costs the simulator's one-process model is given, all measured in this process under the machine's load of the
 * moment.
 *
 * 1. Calibration, one operation at a time on real nodes: starting a node (what `nodeStartMs` models), opening a
 * connection between two nodes until both ends' pubsub knows the other's subscriptions (`connectionMs`), and one
 * DISCOVER on an open connection (`requestMs`). Wall-clock medians.
 * 2. The swarm of benchmarks/discovery-latency's `rendezvous` method: N nodes with `rendezvousDiscovery()` and
 * its defaults, one point, one topic, started at once, until each has 6 connected topic peers; with every
 * REGISTER and DISCOVER counted by a wrapper around the real client, up to the moment the last node got there.
 *
 * npx node --experimental-transform-types benchmarks/simulation/validate-real.ts --nodes 10 [--transport tcp]
 */
import { DefaultRendezvousClient } from '../../src/client/rendezvous-client.ts'
import { rendezvousDiscovery } from '../../src/discovery/index.ts'
import { runSwarm } from '../discovery-latency/harness.ts'
import { startRendezvousServer } from '../discovery-latency/methods/rendezvous.ts'
import { parseArgs } from '../lib/child.ts'
import { createBenchNode, stopAll } from '../lib/nodes.ts'
import { progress } from '../lib/print.ts'
import type { RendezvousClient } from '../../src/client/types.ts'
import type { BenchEnv, NodeTiming } from '../discovery-latency/types.ts'
import type { BenchNode, TransportName } from '../lib/nodes.ts'
import type { SharedCpuModel } from './model/scenario.ts'

export interface RealRun {
  nodes: number
  transport: TransportName
  calibration: SharedCpuModel
  timings: NodeTiming[]
  /** Requests the nodes sent until the last one reached its quota */
  requests: { register: number, discover: number }
}

const CALIBRATION_ROUNDS = 9

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function waitFor (check: () => boolean, boundMs = 10_000): Promise<void> {
  const deadline = performance.now() + boundMs

  while (!check()) {
    if (performance.now() > deadline) {
      throw new Error('calibration: timed out')
    }

    await new Promise(resolve => setTimeout(resolve, 1))
  }
}

/** CPU time of `fn`, ms */
async function cpuOf (fn: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage()
  await fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

/**
 * How much longer than its CPU time a CPU-bound piece of work takes on this machine now (other processes share
 * its cores): the wall time of a busy loop over its CPU time
 */
function slowdown (): number {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  let x = 0

  while (performance.now() - wall < 50) {
    x = (x + Math.sqrt(x + 1)) % 1e9
  }

  const used = process.cpuUsage(cpu)
  return (performance.now() - wall) / Math.max(1, (used.user + used.system) / 1000)
}

/**
 * Medians of the CPU time of one node start, one connection (until both ends' pubsub knows the other's topics:
 * the handshake, identify and gossipsub's streams, both ends) and one DISCOVER on an open connection (client and
 * server), each times how much slower than its CPU time work runs on this machine now
 */
async function calibrate (env: BenchEnv): Promise<SharedCpuModel> {
  const server = await startRendezvousServer(env)
  const starts: number[] = []
  const connections: number[] = []
  const requests: number[] = []
  const slowdowns: number[] = []
  const nodes: BenchNode[] = []

  try {
    for (let i = 0; i < CALIBRATION_ROUNDS; i++) {
      slowdowns.push(slowdown())
      const a = await createBenchNode({ transport: env.transport })
      const b = await createBenchNode({ transport: env.transport })
      nodes.push(a, b)
      starts.push(await cpuOf(async () => a.start()))
      await b.start()
      a.services.pubsub.subscribe(env.topic)
      b.services.pubsub.subscribe(env.topic)
      connections.push(await cpuOf(async () => {
        await a.dial(b.getMultiaddrs()[0])
        await waitFor(() => a.services.pubsub.getSubscribers(env.topic).length > 0 && b.services.pubsub.getSubscribers(env.topic).length > 0)
      }))

      const client = new DefaultRendezvousClient((a as any).components)
      const point = server.getMultiaddrs()[0]
      await client.discover(point, 'calibration', { limit: 10 })

      for (let r = 0; r < 5; r++) {
        requests.push(await cpuOf(async () => client.discover(point, 'calibration', { limit: 10, cookie: null })))
      }

      await stopAll([a, b])
    }
  } finally {
    await stopAll(nodes)
    await stopAll([server])
  }

  const factor = median(slowdowns)
  return { nodeStartMs: median(starts) * factor, connectionMs: median(connections) * factor, requestMs: median(requests) * factor }
}

function counting (inner: RendezvousClient, counts: { register: number, discover: number }): RendezvousClient {
  return {
    register: async (...args) => { counts.register++; return inner.register(...args) },
    unregister: async (...args) => inner.unregister(...args),
    discover: async (...args) => { counts.discover++; return inner.discover(...args) },
    discoverAll: (...args) => inner.discoverAll(...args),
    resetCookies: (...args) => { inner.resetCookies(...args) }
  }
}

const args = parseArgs(process.argv.slice(2))
const env: BenchEnv = {
  transport: (args.get('transport') ?? 'tcp') as TransportName,
  nodes: Number(args.get('nodes') ?? 10),
  topic: 'bench/topic',
  quota: 6,
  boundMs: Number(args.get('bound') ?? 60_000),
  freshness: false,
  freshnessBoundMs: 0
}

process.on('unhandledRejection', () => {})

progress(`validation: calibrating on ${env.transport}`)
const calibration = await calibrate(env)
progress(`validation: ${env.nodes} real nodes on ${env.transport}`)
const counts = { register: 0, discover: 0 }
let atQuota = { ...counts }
const result = await runSwarm(env, {
  async infrastructure () {
    return {
      nodes: [await startRendezvousServer(env)],
      // the watch is over: every node is at quota (or the bound ran out)
      beforeStop: () => { atQuota = { ...counts } }
    }
  },
  nodeInit (_, infra) {
    return {
      peerDiscovery: [rendezvousDiscovery({
        points: infra.nodes[0].getMultiaddrs().map(ma => ma.toString()),
        relay: 'never',
        quotas: { topic: env.quota },
        client: (components: any) => counting(new DefaultRendezvousClient(components), counts)
      })]
    }
  }
})

const out: RealRun = { nodes: env.nodes, transport: env.transport, calibration, timings: result.nodes, requests: atQuota }
process.stdout.write(`${JSON.stringify(out)}\n`)
process.exit(0)
