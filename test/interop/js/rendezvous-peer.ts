/**
 * This package's rendezvous client and server, following the command-line contract every peer of the
 * cross-implementation matrix follows (test/interop/README.md):
 *
 * ```
 * node --experimental-transform-types test/interop/js/rendezvous-peer.ts server [--listen <multiaddr>] [--lifetime <s>]
 * node --experimental-transform-types test/interop/js/rendezvous-peer.ts client --point <multiaddr> [--listen <multiaddr>] [--lifetime <s>] [--format auto|standard|legacy]
 * ```
 *
 * Both print `{"event":"listening",...}` with their multiaddr once ready. A client then reads one JSON command per
 * line on stdin (register, discover, unregister, stop) and prints one JSON line per command. Both exit when stdin
 * closes, on stop, on SIGTERM or after the lifetime, so that a failed test leaves nothing running.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { rendezvousClient } from '../../../src/client/index.ts'
import { RendezvousError } from '../../../src/errors.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createTestNode } from '../../fixtures/memory-node.ts'
import type { RendezvousClient, RendezvousClientInit } from '../../../src/client/index.ts'
import type { Libp2p } from '@libp2p/interface'

interface Command {
  id?: unknown
  op: string
  ns?: string
  ttl?: number
  limit?: number
  cookie?: string
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/0' },
    point: { type: 'string' },
    lifetime: { type: 'string', default: '300' },
    format: { type: 'string', default: 'auto' }
  }
})

const mode = positionals[0]

if (mode !== 'server' && mode !== 'client') {
  process.stderr.write('usage: rendezvous-peer.ts server|client [--point <multiaddr>] [--listen <multiaddr>] [--lifetime <s>]\n')
  process.exit(2)
}

function emit (line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n')
}

async function createNode (services: Record<string, any>): Promise<Libp2p<any>> {
  return createTestNode({
    addresses: { listen: [values.listen] },
    transports: [tcp()],
    // every peer of the matrix dials from 127.0.0.1: libp2p's 5 inbound connections per second per host would
    // refuse some of them
    connectionManager: { inboundConnectionThreshold: 1000 },
    services
  })
}

async function run (command: Command, client: RendezvousClient, point: ReturnType<typeof multiaddr>): Promise<Record<string, unknown>> {
  switch (command.op) {
    case 'register': {
      const ttl = await client.register(point, command.ns ?? '', { ttl: command.ttl })
      return { ok: true, ttl }
    }
    case 'unregister':
      await client.unregister(point, command.ns ?? '')
      return { ok: true }
    case 'discover': {
      const result = await client.discover(point, command.ns, {
        limit: command.limit,
        cookie: command.cookie == null || command.cookie === '' ? null : uint8ArrayFromString(command.cookie, 'base16')
      })
      return {
        ok: true,
        registrations: result.registrations.map(r => ({ peerId: r.peerId.toString(), ns: r.namespace, ttl: r.ttl, addrs: r.multiaddrs.map(ma => ma.toString()) })),
        dropped: result.dropped,
        cookie: result.cookie == null ? '' : uint8ArrayToString(result.cookie, 'base16')
      }
    }
    default:
      return { ok: false, error: `js client has no command ${command.op}` }
  }
}

async function main (): Promise<void> {
  const init: RendezvousClientInit = { peerRecordFormat: values.format as RendezvousClientInit['peerRecordFormat'] }
  const node = mode === 'server'
    ? await createNode({ rendezvous: rendezvousServer() })
    : await createNode({ rendezvous: rendezvousClient(init) })

  const stop = async (): Promise<void> => {
    await Promise.resolve(node.stop()).catch(() => {})
    process.exit(0)
  }
  setTimeout(() => { void stop() }, Number(values.lifetime) * 1000).unref()
  process.on('SIGTERM', () => { void stop() })

  let point: ReturnType<typeof multiaddr> | undefined
  if (mode === 'client') {
    if (values.point == null) {
      throw new Error('client mode needs --point <multiaddr ending in /p2p/<id>>')
    }
    point = multiaddr(values.point)
    await node.dial(point, { signal: AbortSignal.timeout(10_000) })
  }

  emit({ event: 'listening', peerId: node.peerId.toString(), multiaddr: node.getMultiaddrs()[0].toString() })

  // commands run one after another, in the order given
  let queue = Promise.resolve()
  const lines = createInterface({ input: process.stdin })
  lines.on('line', line => {
    if (line.trim() === '') {
      return
    }

    queue = queue.then(async () => {
      let command: Command
      try {
        command = JSON.parse(line)
      } catch (err: any) {
        emit({ ok: false, error: `bad command: ${err.message}` })
        return
      }

      if (command.op === 'stop') {
        await stop()
      }

      if (point == null) {
        return
      }

      try {
        emit({ id: command.id, op: command.op, ...await run(command, node.services.rendezvous, point) })
      } catch (err: any) {
        emit({ id: command.id, op: command.op, ok: false, error: err instanceof RendezvousError ? err.status : `${err.name}: ${err.message}` })
      }
    })
  })
  lines.on('close', () => { void queue.then(stop) })
}

main().catch(err => {
  process.stderr.write(`rendezvous-peer: ${err.stack ?? err}\n`)
  process.exit(1)
})
