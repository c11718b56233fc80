/**
 * The Prometheus endpoint: `GET /metrics` renders the node's registry (libp2p's own metrics, the rendezvous
 * server's, and Node's process metrics); `GET /health` answers 200 while the server runs, for load balancers and
 * container health checks. Anything else is a 404.
 */
import { createServer } from 'node:http'
import type { MetricsAddress } from './command-option-types.ts'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface MetricsServer {
  /** The address actually bound (the port is the real one when 0 was asked for) */
  url: string
  close(): Promise<void>
}

export async function startMetricsServer (registry: Registry, address: MetricsAddress, onError: (err: Error) => void): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]

    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }

    if (path === '/health') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }

    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n')
      return
    }

    registry.metrics().then(text => {
      response.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, (err: Error) => {
      onError(err)
      response.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect metrics\n')
    })
  })

  // a scrape that hangs must not keep the process from stopping
  server.keepAliveTimeout = 5_000
  server.requestTimeout = 30_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', onError)

  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address

  return {
    url: `http://${host}:${bound.port}/metrics`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
