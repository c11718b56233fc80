/**
 * A tiny static server on 127.0.0.1 for the test pages: an HTML page that loads one bundled ES module.
 * Pages are served over plain HTTP, so their `ws://127.0.0.1` dials are not mixed content.
 */

import { createServer } from 'node:http'
import { cachedBundle } from './bundle.ts'
import type { AddressInfo } from 'node:net'

export interface PageServer {
  /** The page's address, e.g. `http://127.0.0.1:40123/` */
  url: string
  close(): Promise<void>
}

export interface ServedFile {
  type: string
  body: string | Uint8Array
}

/** An HTML page that loads `/bundle.js` and nothing else */
export function pageHtml (title: string): string {
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,"></head>
<body><pre id="status">loading</pre><script type="module" src="/bundle.js"></script></body>
</html>
`
}

/** Serves `files` (path -> content) on 127.0.0.1 at a free port; anything else is a 404 */
export async function startPageServer (files: Record<string, ServedFile>): Promise<PageServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const file = files[path]
    if (file == null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** Serves `pageHtml(title)` with `entry` (a path from the repository root) bundled for the browser as its module */
export async function servePage (title: string, entry: string): Promise<PageServer> {
  const bundle = await cachedBundle(entry)
  return startPageServer({
    '/': { type: 'text/html', body: pageHtml(title) },
    '/bundle.js': { type: 'text/javascript', body: bundle.code }
  })
}
