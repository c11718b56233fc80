// The server of canvas-js/libp2p-rendezvous (npm `@canvas-js/libp2p-rendezvous`), for a ratio against ours under
// the same load. It targets libp2p v2, so it lives in its own folder outside this package (default
// /tmp/canvas-bench, or CANVAS_BENCH_DIR) with its own libp2p v2, and runs under the machine's own `node` (v20):
// its better-sqlite3 native module is compiled for the Node that installed it. Set it up once with:
//
//   mkdir -p /tmp/canvas-bench && cd /tmp/canvas-bench && echo '{"type":"module"}' > package.json
//   /usr/bin/npm install @canvas-js/libp2p-rendezvous@0.5.2 libp2p@2 @libp2p/tcp@10 \
//     @chainsafe/libp2p-noise@16 @chainsafe/libp2p-yamux@7 @libp2p/identify@3
//
// When the folder or a working `node` is missing, the comparison is skipped with a message.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export const CANVAS_DIR = process.env.CANVAS_BENCH_DIR ?? '/tmp/canvas-bench'
export const CANVAS_PROTOCOL = '/canvas/rendezvous/1.0.0'

/** The canvas server process, written into CANVAS_DIR at run time (it must resolve that folder's packages) */
const SOURCE = `// written by libp2p-rendezvous-discovery's benchmarks/server/canvas.ts
import { createInterface } from 'node:readline'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { rendezvousServer } from '@canvas-js/libp2p-rendezvous/server'

const fill = Number(process.argv[2] ?? 0)
const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1000, maxConnections: 10000 },
  services: { identify: identify(), rendezvous: rendezvousServer({ maxDiscoverLimit: 1000 }) }
})

let filled
if (fill > 0) {
  const key = await generateKeyPair('Ed25519')
  const record = new PeerRecord({ peerId: peerIdFromPrivateKey(key), multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/4001')] })
  const envelope = (await RecordEnvelope.seal(record, key)).marshal()
  const started = performance.now()
  for (let i = 0; i < fill; i++) {
    const ns = i < ${100} ? 'bench/target' : 'bench/ns-' + (i % 1000)
    node.services.rendezvous.store.register(ns, { toString: () => '12D3KooWBench' + i.toString(36).padStart(40, '0') }, envelope.slice(), 86400n)
  }
  const ms = performance.now() - started
  filled = { count: fill, ms, perSecond: fill / (ms / 1000) }
}

process.stdout.write(JSON.stringify({ ready: true, addrs: node.getMultiaddrs().map(String), protocol: '${CANVAS_PROTOCOL}', fill: filled, node: process.version }) + '\\n')
const cpuStart = process.cpuUsage()
const lines = createInterface({ input: process.stdin })
const stop = async () => { await node.stop(); process.exit(0) }
lines.on('line', (line) => {
  if (line.trim() === 'stats') {
    const cpu = process.cpuUsage(cpuStart)
    process.stdout.write(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.memoryUsage.rss() / 1048576 }) + '\\n')
  } else if (line.trim() === 'exit') {
    void stop()
  }
})
lines.on('close', () => { void stop() })
`

/**
 * Its libp2p v2 dependencies (it-queue, mortice) call `Promise.withResolvers`, which Node 20 lacks: the server
 * would crash on the first identify. This is loaded with `--import` before it.
 */
const POLYFILL = `if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
`

export interface CanvasSetup {
  /** Arguments for `node`: the polyfill and the script */
  args?: string[]
  /** The `node` that can load the folder's native modules */
  node?: string
  /** Why the comparison cannot run */
  skipped?: string
}

/** Finds the canvas folder and a Node that loads its better-sqlite3, and writes the server script there */
export async function canvasSetup (): Promise<CanvasSetup> {
  if (!existsSync(join(CANVAS_DIR, 'node_modules/@canvas-js/libp2p-rendezvous')) || !existsSync(join(CANVAS_DIR, 'node_modules/libp2p'))) {
    return { skipped: `@canvas-js/libp2p-rendezvous is not installed in ${CANVAS_DIR} (see benchmarks/server/canvas.ts for the one-time setup)` }
  }

  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', process.execPath]) {
    if (!existsSync(candidate)) {
      continue
    }
    const probe = spawnSync(candidate, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: CANVAS_DIR, encoding: 'utf8' })
    if (probe.status === 0) {
      const script = join(CANVAS_DIR, 'serve-canvas.mjs')
      const polyfill = join(CANVAS_DIR, 'polyfill.mjs')
      await writeFile(script, SOURCE)
      await writeFile(polyfill, POLYFILL)
      return { args: ['--import', polyfill, script], node: candidate }
    }
  }

  return { skipped: `no Node on this machine loads the better-sqlite3 native module in ${CANVAS_DIR}` }
}
