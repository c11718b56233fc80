/**
 * The browser harness on its own, without rendezvous: a page in Debian's Chromium runs libp2p with the WebSockets
 * and circuit relay transports, reserves a slot on a Node.js relay, and a Node.js peer reaches it through that
 * relay. If this fails, the discovery end-to-end test cannot pass either, and this one says why.
 */

import { expect } from 'aegir/chai'
import { chromiumMissing, sharedChromium, skipWhenMissing } from './harness/chromium.ts'
import { startNodePeer, wsAddress } from './harness/node-peers.ts'
import { servePage } from './harness/page-server.ts'
import { pollUntil } from './harness/poll.ts'
import { TestPage } from './harness/test-page.ts'
import type { NodePeer } from './harness/node-peers.ts'
import type { PageServer } from './harness/page-server.ts'
import type { Browser } from 'playwright-core'

describe('browser harness (Chromium, no rendezvous)', function () {
  this.timeout(30_000)

  let browser: Browser | undefined
  let server: PageServer | undefined
  const nodes: NodePeer[] = []
  const pages: TestPage[] = []

  before(async function () {
    skipWhenMissing(this, chromiumMissing())
    server = await servePage('relay harness', 'test/browser/fixtures/relay-page.ts')
    browser = await sharedChromium()
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      pages.forEach(page => { console.error(page.tail()) })
    }
    await Promise.all(pages.splice(0).map(async page => page.close()))
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
  })

  after(async () => {
    await server?.close()
  })

  it('reserves a slot on a Node.js relay over WebSockets and is pinged through it', async () => {
    if (browser == null || server == null) {
      throw new Error('the harness did not start')
    }
    const relay = await startNodePeer({ relay: true })
    nodes.push(relay)
    const page = await TestPage.open(browser, server.url, 'A')
    pages.push(page)

    const peerId = await page.start({ relays: [wsAddress(relay)] })
    const circuit = await page.waitForState('a circuit address through the relay', state =>
      state.circuitAddrs.find(addr => addr.includes(relay.peerId.toString())))
    expect(circuit).to.include(`/p2p/${relay.peerId}/p2p-circuit/p2p/${peerId}`)

    const dialer = await startNodePeer({ listen: false })
    nodes.push(dialer)
    const { multiaddr } = await import('@multiformats/multiaddr')
    const rtt = await dialer.services.ping.ping(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })
    expect(rtt).to.be.a('number')

    const seen = await pollUntil('the page to see a limited connection from the dialer', async () => {
      const state = await page.state()
      return state.connections.find(conn => conn.peer === dialer.peerId.toString())
    }, { timeout: 5_000 })
    expect(seen.limited).to.be.true()
  })
})
