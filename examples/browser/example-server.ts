/**
 * The example's Node.js side, on 127.0.0.1: a rendezvous point, two circuit relays that register under
 * `/libp2p/relay` through the discovery plugin, and a web server for the page (app.ts bundled with esbuild).
 * serve.ts runs it from the command line; the browser tests start it to check that the example keeps working.
 */

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import { build } from 'esbuild'
import { createLibp2p } from 'libp2p'
import { rendezvousDiscovery } from '../../src/discovery/index.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { AddressInfo } from 'node:net'

export interface ExampleOptions {
  /** Port of the web server on 127.0.0.1; 0 picks a free one. Default: 8080 */
  port?: number
  /** The dapp id the page uses. Default: `demo` */
  dapp?: string
  /** The pubsub topic of the page's chat. Default: `<dapp>-chat` */
  topic?: string
}

export interface Example {
  /** The page's address */
  url: string
  /** The rendezvous point's WebSockets multiaddr */
  pointAddr: string
  point: Libp2p
  relays: Libp2p[]
  /** Time esbuild took to bundle the page, in ms */
  bundleMs: number
  /** Size of the page's bundle, in bytes */
  bundleBytes: number
  stop(): Promise<void>
}

const here = new URL('.', import.meta.url)

function nodeOptions (): any {
  return {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // every tab connects from 127.0.0.1
    connectionManager: { inboundConnectionThreshold: 1000 }
  }
}

function wsAddress (node: Libp2p): string {
  const addr = node.getMultiaddrs().find(ma => WebSockets.exactMatch(ma))
  if (addr == null) {
    throw new Error(`${node.peerId} has no WebSockets address`)
  }
  return addr.toString()
}

export async function startExample (options: ExampleOptions = {}): Promise<Example> {
  const dapp = options.dapp ?? 'demo'
  const topic = options.topic ?? `${dapp}-chat`

  // the rendezvous point runs no relay, so that the page really has to find one through rendezvous
  const point = await createLibp2p({ ...nodeOptions(), services: { identify: identify(), rendezvous: rendezvousServer() } })
  const pointAddr = wsAddress(point)

  // `relay: 'never'`: the relays do not need a relay themselves (loopback is not a public address)
  const relays: Libp2p[] = []
  for (let i = 0; i < 2; i++) {
    relays.push(await createLibp2p({
      ...nodeOptions(),
      services: {
        identify: identify(),
        relay: circuitRelayServer(),
        rendezvous: rendezvousDiscovery({ points: [pointAddr], relay: 'never' })
      }
    }))
  }

  const started = performance.now()
  const bundle = await build({
    entryPoints: [new URL('app.ts', here).pathname],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'warning'
  })
  const bundleMs = Math.round(performance.now() - started)
  const appJs = bundle.outputFiles[0].text
  const indexHtml = await readFile(new URL('index.html', here))
  const config = JSON.stringify({ points: [pointAddr], dapp, topic })

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(indexHtml)
    } else if (url.pathname === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(appJs)
    } else if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config)
    } else if (url.pathname === '/control/stop-relay' && req.method === 'POST') {
      // the page's failover button: stop one relay, so the tabs using it find the other one
      const relay = relays.find(r => r.status === 'started' && r.peerId.toString() === url.searchParams.get('peer'))
      if (relay == null) {
        res.writeHead(404).end('no such running relay')
        return
      }
      Promise.resolve(relay.stop()).then(() => res.writeHead(204).end(), (err: Error) => res.writeHead(500).end(err.message))
    } else {
      res.writeHead(404).end('not found')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, '127.0.0.1', () => { resolve() })
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/`,
    pointAddr,
    point,
    relays,
    bundleMs,
    bundleBytes: appJs.length,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
      await Promise.all([point, ...relays].map(async node => node.stop()))
    }
  }
}
