/**
 * What replies nobody reads cost the server's memory (issue 20 item 3), today's code (the commit this work started
 * from) and the current one: clients behind a TCP proxy that stops passing the server's bytes on, as the review
 * measured them. Each server runs in a process of its own (memory store, 1,000 registrations of ~1.2 KB records, so
 * that a DISCOVER of every namespace is a page of 1 MiB); the proxy and the clients run here.
 *
 * - one peer, 8 connections x 32 streams (the server's maxInboundStreams) each asking for that page
 * - 4 new peers a second for 14 s, each 32 streams on its connection
 *
 * The server's memory is read every second until 15 s after the last request (past its 10 s timeout, which resets
 * the stalled streams): what it holds live (heap and external memory after a full collection: replies, buffers) and
 * its RSS. The table gives their growth from before the load, at the peak and at the end. Bytes the kernel holds in
 * the sockets' buffers (several MB a connection on loopback) are in neither.
 *
 * npx node --experimental-transform-types benchmarks/server/stalled-readers.ts [--quick] [--baseline commit]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Message } from '../../src/pb/rendezvous.ts'
import { NODE_FLAGS, parseArgs } from '../lib/child.ts'
import { createBenchNode, stopAll } from '../lib/nodes.ts'
import { print, progress } from '../lib/print.ts'
import { formatTable } from '../lib/table.ts'
import { baselineSource, ISSUE_20_BASELINE } from './baseline.ts'
import { ServerProcess } from './server-process.ts'
import type { BenchNode } from '../lib/nodes.ts'
import type { PrivateKey, Stream } from '@libp2p/interface'
import type { Server, Socket } from 'node:net'

const args = parseArgs(process.argv.slice(2))
const quick = args.has('quick')
const here = fileURLToPath(new URL('.', import.meta.url))
const startedAt = new Date()
const skipped: string[] = []
const baseline = await baselineSource(args.get('baseline') ?? ISSUE_20_BASELINE)
if ('skipped' in baseline) {
  skipped.push(baseline.skipped)
}

/** A TCP proxy to `port` whose connections pass the server's bytes on until `stall()` */
class StallingProxy {
  readonly server: Server
  private readonly upstream: Socket[] = []

  constructor (port: number) {
    this.server = createServer(client => {
      const upstream = connect(port, '127.0.0.1')
      this.upstream.push(upstream)
      client.pipe(upstream)
      upstream.on('data', chunk => {
        if (!client.destroyed) {
          client.write(chunk)
        }
      })
      const end = (): void => { client.destroy(); upstream.destroy() }
      client.on('error', end).on('close', end)
      upstream.on('error', end).on('close', end)
    })
  }

  async listen (): Promise<number> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    const address = this.server.address()
    return typeof address === 'object' && address != null ? address.port : 0
  }

  /**
   * From now on nothing the server sends on the connections made so far is read from their sockets: its kernel
   * buffers fill, then its process's. Connections made later pass everything on until the next call.
   */
  stall (): void {
    this.upstream.forEach(socket => socket.pause())
  }

  close (): void {
    this.upstream.forEach(socket => socket.destroy())
    this.server.close()
  }
}

interface Scenario {
  label: string
  /** Peers, connections per peer, and how long apart the peers come, ms */
  peers: number
  connectionsPerPeer: number
  apartMs: number
}

const SCENARIOS: Scenario[] = quick
  ? [{ label: 'one peer, 2 connections x 32 streams', peers: 1, connectionsPerPeer: 2, apartMs: 0 }]
  : [
      { label: 'one peer, 8 connections x 32 streams', peers: 1, connectionsPerPeer: 8, apartMs: 0 },
      { label: '4 new peers a second for 14 s, 32 streams each', peers: 56, connectionsPerPeer: 1, apartMs: 250 }
    ]
const STREAMS = 32
const WATCH_MS = quick ? 12_000 : 15_000

/** 32 streams, negotiated while the server's bytes still pass */
async function open (node: BenchNode, target: string): Promise<Stream[]> {
  const streams = await Promise.all(Array.from({ length: STREAMS }, async () =>
    node.dialProtocol(multiaddr(target), '/rendezvous/1.0.0', { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)))
  return streams.filter((stream): stream is Stream => stream != null)
}

/** A DISCOVER of every namespace on each stream, written and never read */
function ask (streams: Stream[]): void {
  const request = Message.encode({ type: Message.MessageType.DISCOVER, discover: {} })
  for (const stream of streams) {
    void lpStream(stream).write(request).catch(() => {})
  }
}

interface Outcome { code: string, scenario: string, livePeakMiB: number, liveEndMiB: number, rssPeakMiB: number, rssEndMiB: number, live: number[], rss: number[] }

async function run (code: 'today' | 'now', scenario: Scenario): Promise<Outcome> {
  const src = code === 'today' ? ('skipped' in baseline ? undefined : baseline.src) : undefined
  const server = await ServerProcess.start(process.execPath, [
    ...NODE_FLAGS, '--expose-gc', `${here}serve.ts`, '--store', 'memory', '--fill', '1000', '--fill-record-addresses', '120',
    ...(src == null ? [] : ['--src', src])
  ], { timeoutMs: 60_000 })
  const proxy = new StallingProxy(Number(server.target.getComponents().find(c => c.name === 'tcp')?.value))
  const nodes: BenchNode[] = []
  const streams: Stream[] = []
  try {
    const port = await proxy.listen()
    const target = `/ip4/127.0.0.1/tcp/${port}/p2p/${server.target.getComponents().findLast(c => c.name === 'p2p')?.value ?? ''}`
    const base = await server.memory()
    const live: number[] = []
    const rss: number[] = []
    const sampler = setInterval(() => {
      void server.memory().then(memory => {
        live.push(memory.liveMiB - base.liveMiB)
        rss.push(memory.rssMiB - base.rssMiB)
      })
    }, 1000)
    try {
      for (let peer = 0; peer < scenario.peers; peer++) {
        const started = Date.now()
        const key: PrivateKey = await generateKeyPair('Ed25519')
        const connections = await Promise.all(Array.from({ length: scenario.connectionsPerPeer }, async () => {
          const node = await createBenchNode({ transport: 'tcp', start: true, listen: false, privateKey: key, pubsub: false })
          nodes.push(node)
          await node.dial(multiaddr(target))
          return node
        }))
        const opened = (await Promise.all(connections.map(async node => open(node, target)))).flat()
        streams.push(...opened)
        // the streams are open: from here on the server's bytes go nowhere
        proxy.stall()
        ask(opened)
        await new Promise(resolve => setTimeout(resolve, Math.max(0, scenario.apartMs - (Date.now() - started))))
      }
      await new Promise(resolve => setTimeout(resolve, WATCH_MS))
    } finally {
      clearInterval(sampler)
    }
    return {
      code,
      scenario: scenario.label,
      livePeakMiB: Math.max(0, ...live),
      liveEndMiB: live[live.length - 1] ?? 0,
      rssPeakMiB: Math.max(0, ...rss),
      rssEndMiB: rss[rss.length - 1] ?? 0,
      live,
      rss
    }
  } finally {
    streams.forEach(stream => { stream.abort(new Error('done')) })
    proxy.close()
    await stopAll(nodes)
    await server.stop()
  }
}

const outcomes: Outcome[] = []
for (const scenario of SCENARIOS) {
  for (const code of ['today', 'now'] as const) {
    if (code === 'today' && 'skipped' in baseline) {
      continue
    }
    progress(`stalled readers: ${code}, ${scenario.label}`)
    try {
      outcomes.push(await run(code, scenario))
    } catch (err: any) {
      skipped.push(`${code}, ${scenario.label}: ${err.message}`)
    }
  }
}

print()
print(`### Server memory held by replies nobody reads (clients behind a TCP proxy that stops passing the server's bytes on; DISCOVERs of 1 MiB pages; growth from before the load, MiB; today = commit ${'skipped' in baseline ? '-' : baseline.commit})`)
print()
print(formatTable(['scenario', 'code', 'live at the peak', `live after ${WATCH_MS / 1000} s more`, 'RSS at the peak', 'RSS at the end', 'live each second'], outcomes.map(o => [
  o.scenario, o.code, o.livePeakMiB.toFixed(0), o.liveEndMiB.toFixed(0), o.rssPeakMiB.toFixed(0), o.rssEndMiB.toFixed(0), o.live.map(v => v.toFixed(0)).join(' ')
])))
for (const reason of skipped) {
  print(`\nskipped: ${reason}`)
}

const jsonPath = new URL(`../results/${quick ? 'quick/' : ''}server-stalled-readers.json`, import.meta.url)
await mkdir(new URL('.', jsonPath), { recursive: true })
await writeFile(jsonPath, JSON.stringify({ meta: { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg(), quick }, outcomes, skipped }, null, 2))
print(`\nwrote ${fileURLToPath(jsonPath)}`)
process.exit(0)
