/**
 * The package must run unchanged in browsers: everything a browser node imports (the public entry and the client,
 * discovery, protocol and wire code) bundles with esbuild for `platform: 'browser'`, which refuses Node built-ins,
 * and the bundle loads in Chromium with the same exports as in Node.
 */

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { bundleForBrowser, nodeBuiltinImports, ROOT } from './harness/bundle.ts'
import { chromiumMissing, sharedChromium, skipWhenMissing } from './harness/chromium.ts'
import { startPageServer } from './harness/page-server.ts'
import { withTimeout } from './harness/poll.ts'

/** The folders of src/ a browser node uses; src/server and src/cli are Node-side */
const BROWSER_FOLDERS = ['src/client', 'src/discovery', 'src/protocol', 'src/pb']

function browserSourceFiles (): string[] {
  return BROWSER_FOLDERS.flatMap(folder => readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map(file => `${folder}/${file}`))
}

describe('browser bundle', function () {
  this.timeout(30_000)

  it('bundles src/index.ts for the browser without any Node built-in', async () => {
    const bundle = await bundleForBrowser('src/index.ts')
    expect(nodeBuiltinImports(bundle.metafile)).to.deep.equal([])
    expect(bundle.inputs).to.include('src/index.ts')
    expect(bundle.bytes).to.be.greaterThan(0)
  })

  it('bundles every file of src/client, src/discovery, src/protocol and src/pb for the browser', async () => {
    const files = browserSourceFiles()
    expect(files).to.include('src/protocol/peer-record.ts')
    // one entry that imports them all: a file that needs Node fails the whole build, naming the import
    const contents = files.map(file => `import './${file}'`).join('\n')
    const bundle = await bundleForBrowser('browser-sources.ts', { contents })
    expect(nodeBuiltinImports(bundle.metafile)).to.deep.equal([])
    for (const file of files) {
      expect(bundle.inputs).to.include(file)
    }
  })

  it('fails, naming the import, when browser code imports a Node built-in', async () => {
    await expect(bundleForBrowser('node-only.ts', { contents: "import { readFileSync } from 'node:fs'\nconsole.log(readFileSync)" }))
      .to.eventually.be.rejectedWith(/node:fs/)
  })

  it('loads in Chromium with the same exports as in Node', async function () {
    skipWhenMissing(this, chromiumMissing())
    const bundle = await bundleForBrowser('src/index.ts')
    const server = await startPageServer({
      '/': { type: 'text/html', body: '<!doctype html><html><head><link rel="icon" href="data:,"></head><body></body></html>' },
      '/index.js': { type: 'text/javascript', body: bundle.code }
    })
    const browser = await sharedChromium()
    const page = await browser.newPage()
    try {
      const errors: string[] = []
      page.on('pageerror', err => { errors.push(err.message) })
      await page.goto(server.url)
      const browserExports = await withTimeout('import the bundle in the page', page.evaluate(async () => {
        // a specifier in a variable keeps TypeScript from resolving it on the Node side
        const url = '/index.js'
        const exported: Record<string, unknown> = await import(url)
        return Object.keys(exported).sort()
      }), 10_000)
      const nodeExports = Object.keys(await import('../../src/index.ts')).sort()
      expect(errors).to.deep.equal([])
      expect(browserExports).to.deep.equal(nodeExports)
    } finally {
      await page.context().close()
      await server.close()
    }
  })
})
