/**
 * Calibration child: what one REGISTER and one DISCOVER cost the node that sends it, and (read by the driver from
 * /proc between two commands) the point that answers it. Runs inside a host of the harness, beside the point, on
 * the harness's JSON lines (test/fixtures/hosts/script-io.ts); each command is one phase, so that the driver can
 * read the point's CPU time before and after it:
 *
 * - `create {count}`: `count` libp2p nodes (TCP, noise, yamux, identify, the package's rendezvous client);
 * - `connect {point, from, to, batch}`: nodes `from` to `to - 1` open their connection to the point (a DISCOVER of a
 * namespace nobody uses: the connection, plus one small request), `batch` at a time;
 * - `register {point, ns, from, to, batch}`: those nodes REGISTER under `ns` (their first REGISTER there, a record
 * the point has not checked before), `batch` at a time;
 * - `discover {point, ns, limit, times, from, to, batch}`: those nodes send `times` DISCOVERs each from the start of
 * the namespace (no cookie), each returning up to `limit` records, all checked by the client, `batch` at a time.
 *
 * Each command answers with this process's CPU time over it (`cpuMs`, from `process.cpuUsage()`), its wall time,
 * the requests sent and the records received. `batch` 1 is one request at a time; more is what a request costs
 * when many run together.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { rendezvousClient } from '../../../src/client/index.ts'
import { serveCommands } from '../../../test/fixtures/hosts/script-io.ts'
import type { RendezvousClient } from '../../../src/client/types.ts'
import type { Libp2p } from '@libp2p/interface'

type Node = Libp2p<{ rendezvous: RendezvousClient }>

let nodes: Node[] = []

async function measured (fn: () => Promise<{ requests: number, records?: number }>): Promise<Record<string, unknown>> {
  const cpu = process.cpuUsage()
  const wall = performance.now()
  const done = await fn()
  const used = process.cpuUsage(cpu)
  return { ...done, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall }
}

/** Runs `fn` for nodes `from` to `to - 1` of the command, `batch` at a time; the sum of what each returns */
async function each (command: Record<string, any>, fn: (node: Node) => Promise<number>): Promise<number> {
  const list = nodes.slice(Number(command.from ?? 0), Number(command.to ?? nodes.length))
  const batch = Math.max(1, Number(command.batch ?? 1))
  let sum = 0

  for (let i = 0; i < list.length; i += batch) {
    sum += (await Promise.all(list.slice(i, i + batch).map(fn))).reduce((a, b) => a + b, 0)
  }

  return sum
}

serveCommands({
  stop: async () => { await Promise.all(nodes.map(async node => node.stop())) },
  commands: {
    create: async (command) => {
      const count = Number(command.count ?? 1)
      nodes = await Promise.all(Array.from({ length: count }, async () => createLibp2p({
        addresses: { listen: [String(command.listen ?? '/ip4/127.0.0.1/tcp/0')] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify(), rendezvous: rendezvousClient() }
      }) as unknown as Promise<Node>))
      return { nodes: nodes.length }
    },
    connect: async (command) => measured(async () => {
      const point = multiaddr(String(command.point))
      const requests = await each(command, async node => {
        await node.services.rendezvous.discover(point, 'calibration/nobody', { limit: 1, cookie: null })
        return 1
      })
      return { requests }
    }),
    register: async (command) => measured(async () => {
      const point = multiaddr(String(command.point))
      const requests = await each(command, async node => {
        await node.services.rendezvous.register(point, String(command.ns))
        return 1
      })
      return { requests }
    }),
    discover: async (command) => measured(async () => {
      const point = multiaddr(String(command.point))
      const times = Number(command.times ?? 1)
      let records = 0
      const requests = await each(command, async node => {
        for (let i = 0; i < times; i++) {
          const result = await node.services.rendezvous.discover(point, String(command.ns), { limit: Number(command.limit ?? 100), cookie: null })
          records += result.registrations.length
        }
        return times
      })
      return { requests, records }
    })
  }
})
