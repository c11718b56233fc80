/**
 * Child process entry: runs one method at one size on one transport and prints the result as one JSON line.
 *
 * npx node benchmarks/discovery-latency/run-one.ts --method hub-only --transport memory --nodes 10 --bound 20000
 */
import { parseArgs } from '../lib/child.ts'
import { progress } from '../lib/print.ts'
import { ResourceMeter } from '../lib/resources.ts'
import type { BenchEnv, DiscoveryMethod, MethodResult, RelayResult } from './types.ts'
import type { TransportName } from '../lib/nodes.ts'
import type { ResourceUsage } from '../lib/resources.ts'

export interface RunOneResult {
  method: string
  label: string
  description: string
  env: BenchEnv
  result: MethodResult
  resources: ResourceUsage
  relay?: RelayResult
}

const args = parseArgs(process.argv.slice(2))
const name = args.get('method') ?? 'hub-only'
const env: BenchEnv = {
  method: name,
  transport: (args.get('transport') ?? 'memory') as TransportName,
  nodes: Number(args.get('nodes') ?? 10),
  topic: args.get('topic') ?? 'bench/topic',
  quota: Number(args.get('quota') ?? 6),
  boundMs: Number(args.get('bound') ?? 30_000),
  freshness: args.has('freshness'),
  freshnessBoundMs: Number(args.get('freshness-bound') ?? 15_000)
}
const relayCount = Number(args.get('relay') ?? 0)
const relayBoundMs = Number(args.get('relay-bound') ?? 15_000)

// a method that lets a promise reject in the background must not take the measurement down with it
process.on('unhandledRejection', () => {})

const { method } = await import(`./methods/${name}.ts`) as { method: DiscoveryMethod }
progress(`${method.name}: ${env.nodes} nodes on ${env.transport}`)

const meter = new ResourceMeter()
const result = await method.run(env)
const resources = meter.stop()

let relay: RelayResult | undefined
if (relayCount > 0 && method.relay != null) {
  progress(`${method.name}: ${relayCount} nodes that need a relay`)
  relay = await method.relay(env, relayCount, relayBoundMs)
}

const out: RunOneResult = { method: method.name, label: method.label, description: method.description, env, result, resources, relay }
process.stdout.write(`${JSON.stringify(out)}\n`)
// libp2p leaves nothing running once stopped, but a method under test might: the result is out, so leave
process.exit(0)
