/**
 * Runs the browser example on 127.0.0.1: a rendezvous point, two circuit relays that register under
 * `/libp2p/relay` through the discovery plugin, and a web server for the page.
 *
 * Start it with `npm run example:browser` (or `PORT=8080 npx node examples/browser/serve.ts`), then open the
 * printed address in one or more tabs.
 *
 * Everything listens on 127.0.0.1 only. Ctrl-C stops it all.
 */

/* eslint-disable no-console */

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { build } from 'esbuild'
import { createLibp2p } from 'libp2p'
import { rendezvousDiscovery } from '../../src/discovery/index.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import type { Libp2p } from '@libp2p/interface'

const PORT = Number(process.env.PORT ?? 8080)
const DAPP = process.env.DAPP ?? 'demo'
const TOPIC = process.env.TOPIC ?? `${DAPP}-chat`
const here = new URL('.', import.meta.url)

function base (): any {
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
  const addr = node.getMultiaddrs().find(ma => ma.toString().includes('/ws/'))
  if (addr == null) {
    throw new Error(`${node.peerId} has no WebSockets address`)
  }
  return addr.toString()
}

// the rendezvous point: no relay on it, so that the page really has to find one through rendezvous
const point = await createLibp2p({ ...base(), services: { identify: identify(), rendezvous: rendezvousServer() } })
const pointAddr = wsAddress(point)

// two relays; `relay: 'never'` because they do not need one themselves (loopback is not a public address)
async function startRelay (): Promise<Libp2p> {
  return createLibp2p({
    ...base(),
    services: {
      identify: identify(),
      relay: circuitRelayServer(),
      rendezvous: rendezvousDiscovery({ points: [pointAddr], relay: 'never' })
    }
  })
}
const relays = [await startRelay(), await startRelay()]

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
const appJs = bundle.outputFiles[0].text
const indexHtml = await readFile(new URL('index.html', here))
console.log(`bundled app.ts in ${Math.round(performance.now() - started)} ms (${Math.round(appJs.length / 1024)} KiB)`)

const config = JSON.stringify({ points: [pointAddr], dapp: DAPP, topic: TOPIC })

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/' || url.pathname === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(indexHtml)
  } else if (url.pathname === '/app.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(appJs)
  } else if (url.pathname === '/config.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config)
  } else if (url.pathname === '/control/stop-relay' && req.method === 'POST') {
    // the demo's failover button: stop one relay, so the tabs using it find the other one
    const relay = relays.find(r => r.status === 'started' && r.peerId.toString() === url.searchParams.get('peer'))
    if (relay == null) {
      res.writeHead(404).end('no such running relay')
      return
    }
    console.log(`stopping relay ${relay.peerId}`)
    Promise.resolve(relay.stop()).then(() => res.writeHead(204).end(), (err: Error) => res.writeHead(500).end(err.message))
  } else {
    res.writeHead(404).end('not found')
  }
})
server.listen(PORT, '127.0.0.1', () => {
  console.log(`rendezvous point: ${pointAddr}`)
  relays.forEach((relay, i) => { console.log(`relay ${i + 1}:         ${wsAddress(relay)}`) })
  console.log(`\nopen http://127.0.0.1:${PORT}/ in one or more tabs (dapp "${DAPP}", topic "${TOPIC}")`)
})

process.once('SIGINT', () => {
  console.log('\nstopping')
  server.close()
  Promise.all([point.stop(), ...relays.map(async relay => relay.stop())]).finally(() => process.exit(0))
})
