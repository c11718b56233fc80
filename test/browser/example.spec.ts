/**
 * examples/browser keeps working: its server starts (rendezvous point, two relays, the page bundled from app.ts),
 * and a tab opened on it finds the relays through rendezvous and shows its relays, quotas and registrations.
 */

import { expect } from 'aegir/chai'
import { chromiumMissing, sharedChromium, skipWhenMissing } from './harness/chromium.ts'
import { pollUntil } from './harness/poll.ts'
import type { PeerId } from '@libp2p/interface'
import type { Browser, Page } from 'playwright-core'

/**
 * What the test uses of examples/browser/example-server.ts. The example is type-checked by its own tsconfig
 * (examples/ is not part of the package's build), so it is imported by URL rather than statically.
 */
interface Example {
  url: string
  relays: Array<{ peerId: PeerId }>
  stop(): Promise<void>
}

async function startExample (options: { port: number }): Promise<Example> {
  const url = new URL('../../examples/browser/example-server.ts', import.meta.url).href
  const module: { startExample(options: { port: number }): Promise<Example> } = await import(url)
  return module.startExample(options)
}

describe('examples/browser', function () {
  this.timeout(40_000)

  let browser: Browser | undefined
  let example: Example | undefined

  before(async function () {
    skipWhenMissing(this, chromiumMissing())
    example = await startExample({ port: 0 })
    browser = await sharedChromium()
  })

  after(async () => {
    await example?.stop()
  })

  it('shows a tab that found both relays through rendezvous and registered under its dapp', async () => {
    if (browser == null || example == null) {
      throw new Error('the example did not start')
    }
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', err => { errors.push(err.message) })
    await page.goto(example.url)

    await waitForText(page, '#status', text => text.includes('reachable through 2 relay(s)'))
    const relays = await waitForText(page, '#relays', text => text.split('/p2p-circuit').length - 1 >= 2 ? text : false)
    for (const relay of example.relays) {
      expect(relays).to.include(relay.peerId.toString())
    }
    await waitForText(page, '#quotas', text => text.includes('/libp2p/relay') && text.includes('/dapp/demo'))
    await waitForText(page, '#registrations', text => text.includes('/dapp/demo') && text.includes('true'))
    expect(errors).to.deep.equal([])
    await page.context().close()
  })
})

/** Polls an element's text until `check` accepts it */
async function waitForText <T> (page: Page, selector: string, check: (text: string) => T | false, timeout = 20_000): Promise<T | true> {
  let last = ''
  return pollUntil(`${selector} of the example page to show what is expected`, async () => {
    last = (await page.textContent(selector)) ?? ''
    const result = check(last)
    return result === false ? false : (result ?? true)
  }, { timeout, interval: 200, describe: () => JSON.stringify(last.slice(0, 400)) })
}
