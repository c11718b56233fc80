/**
 * One browser tab running a test page, driven from Node: each tab gets its own browser context (its own storage,
 * so its own libp2p identity), its console is kept for failure reports, and every call is bounded in time.
 */

import { pollUntil, withTimeout } from './poll.ts'
import type { PageApi, PageConfig, PageState } from '../fixtures/page-api.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/** Most console lines kept per page */
const MAX_LOG_LINES = 400

export class TestPage {
  readonly label: string
  readonly logs: string[] = []
  private readonly context: BrowserContext
  private readonly page: Page

  private constructor (label: string, context: BrowserContext, page: Page) {
    this.label = label
    this.context = context
    this.page = page
    // the `debug` logger styles its lines with %c and colour arguments: drop them
    page.on('console', message => { this.log(`${message.type()}: ${message.text().replace(/%c/g, '').replace(/ ?color: (#[0-9A-Fa-f]+|inherit)/g, '')}`) })
    page.on('pageerror', err => { this.log(`pageerror: ${err.stack ?? err.message}`) })
    page.on('crash', () => { this.log('page crashed') })
  }

  /** Opens `url` in a fresh context and waits until the page's API is there */
  static async open (browser: Browser, url: string, label: string, timeout = 15_000): Promise<TestPage> {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(timeout)
    const testPage = new TestPage(label, context, page)
    try {
      await page.goto(url, { timeout })
      await pollUntil(`page ${label} to load its bundle`, async () => page.evaluate(() => window.libp2pPage != null), { timeout })
    } catch (err: any) {
      throw new Error(`${err.message}\n${testPage.tail()}`)
    }
    return testPage
  }

  /** Starts the page's libp2p node; resolves to its peer id */
  async start (config: PageConfig, timeout = 15_000): Promise<string> {
    return this.bounded(`start the node of page ${this.label}`, timeout,
      this.page.evaluate(async config => (window.libp2pPage as PageApi).start(config), config))
  }

  async state (): Promise<PageState> {
    return this.page.evaluate(() => (window.libp2pPage as PageApi).state())
  }

  async publish (topic: string, text: string, timeout = 10_000): Promise<number> {
    return this.bounded(`publish on ${topic} from page ${this.label}`, timeout,
      this.page.evaluate(async ([topic, text]) => (window.libp2pPage as PageApi).publish(topic, text), [topic, text]))
  }

  async ping (target: string, timeout = 12_000): Promise<number> {
    return this.bounded(`ping ${target} from page ${this.label}`, timeout,
      this.page.evaluate(async target => (window.libp2pPage as PageApi).ping(target), target))
  }

  async dial (target: string, timeout = 12_000): Promise<void> {
    await this.bounded(`dial ${target} from page ${this.label}`, timeout,
      this.page.evaluate(async target => (window.libp2pPage as PageApi).dial(target), target))
  }

  /** Polls the page's state until `check` returns a value, failing with `what` and the last state seen */
  async waitForState <T> (what: string, check: (state: PageState) => T | undefined | null | false, timeout = 15_000): Promise<T> {
    return pollUntil(`${what} (page ${this.label})`, async () => check(await this.state()), { timeout, interval: 100 })
  }

  /** The last console lines, for failure messages */
  tail (lines = 60): string {
    return `--- last console lines of page ${this.label} ---\n${this.logs.slice(-lines).join('\n')}`
  }

  async close (): Promise<void> {
    try {
      await withTimeout(`stop the node of page ${this.label}`, this.page.evaluate(async () => window.libp2pPage?.stop()), 5_000)
    } catch (err: any) {
      this.log(`stop failed: ${err.message}`)
    }
    await this.context.close()
  }

  private async bounded <R> (what: string, timeout: number, call: Promise<R>): Promise<R> {
    try {
      return await withTimeout(what, call, timeout)
    } catch (err: any) {
      throw new Error(`${what} failed: ${err.message}\n${this.tail(30)}`)
    }
  }

  private log (line: string): void {
    this.logs.push(line)
    if (this.logs.length > MAX_LOG_LINES) {
      this.logs.splice(0, this.logs.length - MAX_LOG_LINES)
    }
  }
}
