/**
 * The hosts harness itself (test/fixtures/hosts/): what it promises the tests and benchmarks that put processes on
 * hosts of their own. Each host has one address in its run's /24 and no route out; hosts reach each other across
 * the bridge until a link is taken down; two networks never share a /24; a process can be killed with SIGKILL
 * and started again; and nothing is left behind, whether the test tears down, the test process is signalled, or
 * it is killed outright (then the next run's sweep removes its namespaces).
 *
 * Needs root and iproute2, like the harness; otherwise it skips, saying which is missing.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { parseNamespace, subnetCidr } from '../../fixtures/hosts/address-plan.ts'
import { isAlive, sweepLeftovers } from '../../fixtures/hosts/cleanup.ts'
import { HostNetwork, hostsUnavailable, startDelayProxy, startPoint } from '../../fixtures/hosts/index.ts'
import { ip, listNamespaces } from '../../fixtures/hosts/ip.ts'
import { NODE_FLAGS, nodeBinary } from '../../fixtures/hosts/node-binary.ts'
import type { Host } from '../../fixtures/hosts/index.ts'

const HOLDER = fileURLToPath(new URL('./fixtures/network-holder.ts', import.meta.url))

/** Tries a TCP connection from inside `from`: 'connected', or the error code (a timeout gives 'TIMEOUT') */
async function tcpConnect (from: Host, address: string, port: number, timeoutMs = 2000): Promise<string> {
  const script = [
    'const net = await import("node:net")',
    'const s = net.createConnection({ host: process.argv[1], port: Number(process.argv[2]) })',
    'const t = setTimeout(() => { console.log("TIMEOUT"); process.exit(0) }, Number(process.argv[3]))',
    's.on("connect", () => { console.log("connected"); clearTimeout(t); s.destroy() })',
    's.on("error", (e) => { console.log(e.code); clearTimeout(t) })'
  ].join('\n')
  return (await from.exec(nodeBinary(), ['--input-type=module', '-e', script, address, String(port), String(timeoutMs)], timeoutMs + 5000)).trim()
}

/** Runs the network holder, reads its line of namespaces and pids, and leaves it running */
async function startHolder (): Promise<{ pid: number, namespaces: string[], pids: number[], exited: Promise<number | null> }> {
  const child = spawn(nodeBinary(), [...NODE_FLAGS, HOLDER], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>(resolve => child.once('exit', (code, signal) => { resolve(code ?? (signal == null ? null : -1)) }))
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the network holder printed nothing in 20 s')) }, 20_000)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (out.includes('\n')) {
        clearTimeout(timer)
        resolve(out.split('\n')[0])
      }
    })
    child.once('exit', () => { clearTimeout(timer); reject(new Error('the network holder exited before its line')) })
  })
  return { pid: child.pid!, ...JSON.parse(line), exited }
}

describe('the hosts harness (network namespaces on a bridge)', function () {
  this.timeout(60_000)

  let network: HostNetwork | undefined
  let dir: string | undefined

  before(async function () {
    const unavailable = await hostsUnavailable()
    if (unavailable != null) {
      // eslint-disable-next-line no-console
      console.warn(`      ${unavailable}`)
      this.skip()
    }
  })

  afterEach(async () => {
    await network?.teardown()
    network = undefined
    if (dir != null) {
      await rm(dir, { recursive: true, force: true })
      dir = undefined
    }
  })

  it('gives each host one address of its run\'s /24 in 198.18.0.0/15, lo up, and no route out', async () => {
    network = await HostNetwork.create(['A', 'B'])
    const a = network.host('A')
    expect(network.cidr).to.match(/^198\.1[89]\.\d+\.0\/24$/)
    expect(a.address).to.equal(network.cidr.replace('.0/24', '.1'))
    expect(network.host('B').address).to.equal(network.cidr.replace('.0/24', '.2'))

    const addresses = await a.exec('ip', ['-4', '-o', 'addr', 'show'])
    expect(addresses).to.match(/\blo\b.*inet 127\.0\.0\.1\/8/)
    expect(addresses).to.include(`inet ${a.address}/24`)
    expect((await a.exec('ip', ['-4', 'route'])).trim()).to.equal(`${network.cidr} dev eth0 proto kernel scope link src ${a.address}`)
    await expect(a.exec('ip', ['route', 'get', '1.1.1.1'])).to.eventually.be.rejectedWith(/unreachable/i)

    // the machine's own addresses are out of reach too
    const outside = Object.values(networkInterfaces()).flat().find(i => i != null && i.family === 'IPv4' && !i.internal)
    if (outside != null) {
      expect(await tcpConnect(a, outside.address, 22)).to.equal('ENETUNREACH')
    }
  })

  it('lets hosts reach each other across the bridge until a host\'s link is down, and again once it is up', async () => {
    network = await HostNetwork.create(['A', 'B'])
    const a = network.host('A')
    const b = network.host('B')
    // anything that accepts TCP on A's address will do: a delaying proxy to nowhere
    const listener = await startDelayProxy(a, { delayMs: 0, listenPort: 5000, target: '127.0.0.1:9' })
    expect(listener.port).to.equal(5000)

    expect(await tcpConnect(b, a.address, 5000)).to.equal('connected')
    await a.linkDown()
    expect(await tcpConnect(b, a.address, 5000)).to.be.oneOf(['TIMEOUT', 'EHOSTUNREACH'])
    await a.linkUp()
    expect(await tcpConnect(b, a.address, 5000)).to.equal('connected')
  })

  it('gives two networks made at once different /24s, and names that carry this process\'s pid', async () => {
    const [one, two] = await Promise.all([HostNetwork.create(['x']), HostNetwork.create(['x'])])
    try {
      expect(one.subnet).to.not.equal(two.subnet)
      for (const made of [one, two]) {
        for (const ns of [made.switchNamespace, made.host('x').namespace]) {
          expect(parseNamespace(ns)).to.include({ pid: process.pid, subnet: made.subnet })
        }
        expect(made.cidr).to.equal(subnetCidr(made.subnet))
      }
    } finally {
      await Promise.all([one.teardown(), two.teardown()])
    }
  })

  it('kills a process with SIGKILL and starts it again: a point comes back with the same peer id', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-harness-'))
    network = await HostNetwork.create(['A'])
    const point = await startPoint(network.host('A'), { identityDir: dir })
    const { peerId } = point
    const pid = point.process.pid!

    await point.process.kill('SIGKILL')
    expect(point.process.running).to.be.false()
    expect(isAlive(pid)).to.be.false()

    await point.restart()
    expect(point.process.running).to.be.true()
    expect(point.process.pid).to.not.equal(pid)
    expect(point.peerId).to.equal(peerId)
  })

  it('removes its namespaces and processes when the test process gets SIGTERM', async () => {
    const holder = await startHolder()
    expect(await listNamespaces()).to.include.members(holder.namespaces)
    expect(holder.pids.every(pid => isAlive(pid))).to.be.true()

    process.kill(holder.pid, 'SIGTERM')
    await holder.exited
    expect(await listNamespaces()).to.not.include.any.members(holder.namespaces)
    await pWaitFor(() => holder.pids.every(pid => !isAlive(pid)), { interval: 100, timeout: { milliseconds: 5000, message: 'not within 5000 ms: the holder\'s processes are gone' } })
  })

  it('leaves nothing running when the test process is killed outright, and the next sweep removes its namespaces', async () => {
    const holder = await startHolder()
    process.kill(holder.pid, 'SIGKILL')
    await holder.exited
    // the kernel ends the children (their parent-death signal); no handler could remove the namespaces
    await pWaitFor(() => holder.pids.every(pid => !isAlive(pid)), { interval: 100, timeout: { milliseconds: 5000, message: 'not within 5000 ms: the holder\'s processes are gone' } })
    expect(await listNamespaces()).to.include.members(holder.namespaces)

    // a namespace of a live run (this process's) is left alone
    const live = `rdv-${process.pid}-998-sw`
    await ip(['netns', 'add', live])
    try {
      const removed = await sweepLeftovers()
      expect(removed).to.include.members(holder.namespaces)
      expect(removed).to.not.include(live)
      expect(await listNamespaces()).to.not.include.any.members(holder.namespaces)
    } finally {
      await ip(['netns', 'del', live])
    }
  })
})
