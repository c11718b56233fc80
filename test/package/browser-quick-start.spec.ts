/**
 * The browser quick start of docs/browser.md as a user follows it (issue 20, items 19 and 20): a fresh project
 * outside the repository, the doc's install lines (the package from its tarball), its files as they are in
 * examples/browser-quick-start/, its esbuild command, the `rendezvous-server --relay` command and esbuild's server
 * started as it says (on free ports instead of 9090 and 8000), and two tabs of Debian's Chromium on the page.
 *
 * Each tab must get a circuit address through the point's relay, and the two must meet. Then the point goes away
 * for a while: the tabs must not warn about their setup (they have a relay transport and lost their relay for a
 * moment), must not dial the dead point more often than its backoff allows (each failed WebSocket is an error in the
 * browser's console), and must meet again soon after the point is back; and the same when the point that comes up
 * is a second one, configured beside the first from the start. The times are printed.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { succeed } from '../../benchmarks/package-size/measure.ts'
import { chromiumMissing, sharedChromium, skipWhenMissing } from '../browser/harness/chromium.ts'
import { pollUntil } from '../browser/harness/poll.ts'
import { ROOT, packedTarball } from './fixtures/packed.ts'
import { Running, consoleCommands } from './fixtures/running.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

const DOC = readFileSync(join(ROOT, 'docs/browser.md'), 'utf8')
const EXAMPLE = join(ROOT, 'examples/browser-quick-start')
const FILES = ['app.ts', 'index.html']
/** The ports the doc names, replaced by free ones */
const DOC_POINT_PORT = '9090'
const DOC_PAGE_PORT = '8000'
/** How long the point stays away */
const OUTAGE_MS = 20_000
/** The dials made as the point goes away are over by then */
const SETTLED_MS = 3000
/** Set BROWSER_DEBUG='libp2p:rendezvous*' (a `debug` pattern) to get the tabs' libp2p logs printed after each test */
const DEBUG = process.env.BROWSER_DEBUG

/** What every warning of the discovery module starts with (src/discovery/warnings.ts) */
const WARNING_PREFIX = 'libp2p-rendezvous-discovery:'

/** A TCP port on 127.0.0.1 that was free a moment ago */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  return typeof address === 'object' && address != null ? address.port : 0
}

/** The gaps between `times`, in s */
function gaps (times: number[]): string {
  return times.slice(1).map((at, i) => ((at - times[i]) / 1000).toFixed(1)).join('/')
}

/** One tab on the quick start page: its console, and the lines the page prints in `#log`, with when they came */
class Tab {
  readonly console: Array<{ at: number, type: string, text: string }> = []
  private readonly context: BrowserContext
  private readonly page: Page

  private constructor (context: BrowserContext, page: Page) {
    this.context = context
    this.page = page
    page.on('console', message => { this.console.push({ at: Date.now(), type: message.type(), text: message.text() }) })
    page.on('pageerror', err => { this.console.push({ at: Date.now(), type: 'pageerror', text: err.message }) })
  }

  static async open (browser: Browser, url: string): Promise<Tab> {
    const context = await browser.newContext()
    const page = await context.newPage()

    if (DEBUG != null) {
      await page.addInitScript(pattern => { localStorage.setItem('debug', pattern) }, DEBUG)
    }

    const tab = new Tab(context, page)
    await page.goto(url, { timeout: 15_000 })
    return tab
  }

  /** The lines the page printed (it logs each to the console as well), with the time each came */
  printed (): Array<{ at: number, text: string }> {
    return this.console.filter(line => line.type === 'log')
  }

  /** The first printed line after `since` that `match` accepts; fails after `ms` */
  async line (what: string, match: (text: string) => boolean, since: number, ms: number): Promise<{ at: number, text: string }> {
    return pollUntil(what, () => this.printed().find(line => line.at >= since && match(line.text)), {
      timeout: ms,
      describe: () => this.tail()
    })
  }

  /** When the browser reported a failed WebSocket connection, between `from` and `to` */
  socketErrors (from: number, to: number): number[] {
    return this.console.filter(line => line.at >= from && line.at <= to && line.type === 'error' && line.text.startsWith('WebSocket connection to')).map(line => line.at)
  }

  warnings (): string[] {
    return this.console.filter(line => line.text.startsWith(WARNING_PREFIX)).map(line => line.text)
  }

  tail (): string {
    return this.console.slice(-40).map(line => `${line.type}: ${line.text}`).join('\n')
  }

  async close (): Promise<void> {
    await this.context.close()
  }
}

describe('the browser quick start in a fresh project, in Chromium', function () {
  this.timeout(10 * 60_000)

  let browser: Browser
  let workdir: string
  let project: string
  let buildCommand: string
  let pointCommand: string
  let serveCommand: string
  let page: Running | undefined
  let pageUrl: string
  const running: Running[] = []
  const tabs: Tab[] = []

  before(async function () {
    this.timeout(5 * 60_000)
    skipWhenMissing(this, chromiumMissing())
    const tarball = await packedTarball()
    workdir = mkdtempSync(join(tmpdir(), 'rendezvous-browser-quick-start-'))
    project = join(workdir, 'project')
    mkdirSync(project)

    for (const file of FILES) {
      const source = readFileSync(join(EXAMPLE, file), 'utf8').replace(/^\/\* eslint-disable .*\*\/\n/m, '').trimEnd()
      expect(DOC.includes(`\n${source}\n\`\`\``), `docs/browser.md shows ${file} as it is in examples/browser-quick-start`).to.be.true()
      copyFileSync(join(EXAMPLE, file), join(project, file))
    }

    const commands = consoleCommands(DOC, 'Quick start')
    const installs = commands.filter(command => command.startsWith('npm '))
    ;[buildCommand, pointCommand, serveCommand] = ['npx esbuild app.ts', 'npx rendezvous-server', 'npx esbuild --servedir']
      .map(start => commands.find(command => command.startsWith(start)) ?? '')
    expect(commands, 'every console line of the quick start is an install, the build, the point or the server').to.have.lengthOf(installs.length + 3)
    expect(buildCommand).to.include('--bundle').and.include('--format=esm')

    for (const command of installs) {
      await succeed('sh', ['-c', command.replace(/(npm install )libp2p-rendezvous-discovery /, `$1${tarball} `)], project)
    }

    await succeed('sh', ['-c', buildCommand], project)
    browser = await sharedChromium()
  })

  afterEach(async function () {
    if (DEBUG != null || this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      tabs.forEach((tab, i) => { console.log(tab.console.map(line => `${new Date(line.at).toISOString()} tab ${i} ${line.type}: ${line.text.replace(/%c| ?color: (#[0-9A-Fa-f]+|inherit)/g, '')}`).join('\n')) })
    }

    await Promise.allSettled(tabs.splice(0).map(async tab => tab.close()))
    await Promise.allSettled(running.splice(0).map(async process => process.stop('SIGTERM', 10_000)))
    page = undefined
  })

  after(async () => {
    if (workdir != null) {
      rmSync(workdir, { recursive: true, force: true })
    }
  })

  /** Starts the point as the doc says, on `port`, with the identity in `key`; resolves to the address it prints */
  async function startPoint (port: number, key: string): Promise<{ point: Running, address: string }> {
    const [, ...args] = pointCommand.split(' ')
    const bin = join(project, 'node_modules/.bin', args[0])
    const point = new Running(bin, args.slice(1).map(arg => arg.replace(DOC_POINT_PORT, String(port)).replace('point.key', key)), project)
    running.push(point)
    const address = await point.line(line => new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${port}/ws/p2p/\\w+$`).exec(line)?.[0], 30_000)
    return { point, address }
  }

  /** Serves the folder as the doc says, on a free port */
  async function servePage (): Promise<string> {
    if (page == null) {
      const port = await freePort()
      const [, bin, ...args] = serveCommand.split(' ')
      page = new Running(join(project, 'node_modules/.bin', bin), args.map(arg => arg.replace(DOC_PAGE_PORT, String(port))), project, { stdin: 'pipe' })
      running.push(page)
      pageUrl = `http://127.0.0.1:${port}/`
      await pollUntil('esbuild to serve the page', async () => (await fetch(pageUrl)).ok, { timeout: 15_000 })
    }

    return pageUrl
  }

  async function openTabs (points: string[]): Promise<[Tab, Tab]> {
    const url = `${await servePage()}?${points.map(point => `point=${point}`).join('&')}`
    const opened = await Promise.all([Tab.open(browser, url), Tab.open(browser, url)])
    tabs.push(...opened)
    return opened
  }

  /** Each tab's peer id, as it prints it */
  async function peerIds (pair: Tab[]): Promise<string[]> {
    return Promise.all(pair.map(async tab => (await tab.line('the node line', text => text.startsWith('node '), 0, 20_000)).text.slice('node '.length)))
  }

  /** When both tabs print the other as their topic peer, after `since` */
  async function meet (pair: Tab[], ids: string[], since: number, ms: number): Promise<number> {
    const lines = await Promise.all(pair.map(async (tab, i) => tab.line(`topic peers: ${ids[1 - i]}`, text => text === `topic peers: ${ids[1 - i]}`, since, ms)))
    return Math.max(...lines.map(line => line.at))
  }

  /**
   * Two tabs on `points` that meet, then `first` stops: resolves once both tabs have dropped each other and the
   * outage has lasted OUTAGE_MS, with the time it stopped
   */
  async function meetThenLose (points: string[], first: Running): Promise<{ pair: [Tab, Tab], ids: string[], down: number }> {
    const pair = await openTabs(points)
    const ids = await peerIds(pair)
    await meet(pair, ids, 0, 20_000)

    const down = Date.now()
    expect(await first.stop('SIGTERM', 15_000)).to.equal(0)
    await Promise.all(pair.map(async tab => tab.line('topic peers: none', text => text === 'topic peers: none', down, 10_000)))
    await delay(OUTAGE_MS)
    return { pair, ids, down }
  }

  function report (line: string): void {
    // eslint-disable-next-line no-console
    console.log(`      [browser quick start] ${line}`)
  }

  it('item 19: two tabs built as docs/browser.md says get circuit addresses through rendezvous-server --relay and meet', async () => {
    const { address } = await startPoint(await freePort(), 'point.key')
    const opened = Date.now()
    const pair = await openTabs([address])
    const ids = await peerIds(pair)

    const circuits = await Promise.all(pair.map(async (tab, i) => tab.line('a circuit address through the point', text => text === `addresses: ${address}/p2p-circuit/p2p/${ids[i]}`, opened, 20_000)))
    const met = await meet(pair, ids, opened, 20_000)

    report(`circuit address ${circuits.map(line => `${((line.at - opened) / 1000).toFixed(1)} s`).join(' and ')} after the tabs opened; met ${((met - opened) / 1000).toFixed(1)} s after`)
    expect(pair.flatMap(tab => tab.console.filter(line => line.type === 'pageerror' || line.type === 'error'))).to.deep.equal([])
    expect(pair.flatMap(tab => tab.warnings())).to.deep.equal([])
  })

  it('item 20: while their point and relay is away the tabs say no warning and back off from it, and they meet again soon after it is back', async () => {
    const port = await freePort()
    const first = await startPoint(port, 'point.key')
    const { pair, ids, down } = await meetThenLose([first.address], first.point)

    const errors = pair.map(tab => tab.socketErrors(down, Date.now()))
    // after the moment of the loss (when libp2p's relay transport and reconnect queue try once too)
    const later = errors.map(times => times.filter(at => at >= down + SETTLED_MS))
    const again = await startPoint(port, 'point.key')
    const up = Date.now()
    const met = await meet(pair, ids, up, 30_000)

    report(`point away ${OUTAGE_MS / 1000} s: ${errors.map(times => times.length).join(' and ')} failed WebSockets (console errors) per tab, ${later.map(times => times.length).join(' and ')} of them after the first ${SETTLED_MS / 1000} s, gaps ${later.map(gaps).join(' and ')} s; the tabs met again ${((met - up) / 1000).toFixed(1)} s after it was back`)
    expect(pair.flatMap(tab => tab.warnings())).to.deep.equal([])
    // the point's own backoff (from 1 s, doubling up to pointBackoff.max, 10 s, in the upper half of the ceiling)
    // tries it at most 4 times from 3 s to 20 s, at least 2 s apart; every other dial of the module waits for it
    for (const times of later) {
      expect(times.length).to.be.at.most(5)
      expect(Math.min(...times.slice(1).map((at, i) => at - times[i]))).to.be.at.least(1500)
    }
    expect(met - up).to.be.below(15_000)
    await again.point.stop('SIGTERM', 15_000)
  })

  it('item 20: tabs whose point goes away meet again through a second point soon after it comes up', async () => {
    const [port, secondPort] = await Promise.all([freePort(), freePort()])
    const first = await startPoint(port, 'point.key')
    // the second point's identity, made by the command once, and its address, before it serves
    const probe = await startPoint(secondPort, 'second.key')
    await probe.point.stop('SIGTERM', 15_000)

    const { pair, ids } = await meetThenLose([first.address, probe.address], first.point)

    await startPoint(secondPort, 'second.key')
    const up = Date.now()
    const met = await meet(pair, ids, up, 30_000)

    report(`first point away, the second up after ${OUTAGE_MS / 1000} s: the tabs met again ${((met - up) / 1000).toFixed(1)} s after it came up`)
    // only the second point, down from the start until now, may be named, with what the browser said of it
    const [named, ...others] = pair.flatMap(tab => tab.warnings())
    expect(others.filter(warning => !warning.includes(probe.address))).to.deep.equal([])
    expect(named).to.include(probe.address).and.include('the connection failed').and.not.include('[object')
    expect(met - up).to.be.below(15_000)
  })
})
