/**
 * A network of points of `rendezvous-server` processes over TCP on 127.0.0.1 (issue 23 item 1), configured the
 * three ways an operator can: A by flags, B by a config file, C by environment variables. Chained A <- B <- C,
 * every point lists all three under `/libp2p/rendezvous` within 30 s; their /metrics say what they know and did;
 * a point killed with SIGKILL (no UNREGISTER) leaves the others' lists within 10 s.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { loadOrCreateIdentity } from '../../src/cli/identity.ts'
import { POINTS_NAMESPACE } from '../../src/constants.ts'
import { killAll, startCli } from './fixtures/cli-process.ts'
import { createTcpClient } from './fixtures/tcp-client.ts'
import type { CliProcess } from './fixtures/cli-process.ts'
import type { ClientNode } from './fixtures/tcp-client.ts'
import type { AddressInfo } from 'node:net'

/** A TCP port free on 127.0.0.1 a moment ago */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

/** The value of one sample of a Prometheus text exposition, e.g. `name{label="x"}`; 0 when absent */
function sample (text: string, series: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line == null ? 0 : Number(line.slice(series.length + 1))
}

describe('rendezvous-server processes in a network of points', function () {
  // spawning Node with type transformation takes a second or two on a busy 2-core machine
  this.timeout(120_000)

  let dir: string
  let client: ClientNode | undefined

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-points-'))
  })

  afterEach(async () => {
    await client?.stop()
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  /** The peer ids a point lists under `/libp2p/rendezvous`, as a node asking over TCP sees them, sorted */
  async function listed (point: CliProcess): Promise<string[]> {
    client ??= await createTcpClient()
    const { registrations } = await client.services.rendezvous.discover(point.tcp, POINTS_NAMESPACE, { cookie: null })
    return registrations.map(registration => registration.peerId.toString()).sort()
  }

  /** Polls `condition` every 100 ms (a request that fails counts as not yet); resolves with the ms it took */
  async function within (what: string, ms: number, condition: () => Promise<boolean>): Promise<number> {
    const started = performance.now()
    await pWaitFor(async () => condition().catch(() => false), { interval: 100, timeout: { milliseconds: ms, message: `${what} did not happen within ${ms} ms` } })
    return performance.now() - started
  }

  it('three processes chained A <- B <- C (flags, config file, environment) list all three within 30 s, and drop a killed one within 10 s', async () => {
    const labels = ['a', 'b', 'c'] as const
    const keys = Object.fromEntries(await Promise.all(labels.map(async label => [label, join(dir, `${label}.key`)] as const)))
    const ids = await Promise.all(labels.map(async label => peerIdFromPrivateKey((await loadOrCreateIdentity(keys[label])).privateKey).toString()))
    const ports = await Promise.all(labels.map(freePort))
    const listen = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i]}`
    const address = (i: number): string => `${listen(i)}/p2p/${ids[i]}`
    const common = ['--metrics', '127.0.0.1:0', '--log-level', 'info']

    await writeFile(join(dir, 'b.json'), JSON.stringify({
      listen: [listen(1)],
      identity: keys.b,
      peerPoints: [address(0)],
      admitPoints: ids
    }))

    const started = performance.now()
    const [a, b, c] = await Promise.all([
      startCli(['--listen', listen(0), '--identity', keys.a, ...ids.flatMap(id => ['--admit-point', id]), ...common]),
      startCli(['--config', join(dir, 'b.json'), ...common]),
      startCli(['--listen', listen(2), '--identity', keys.c, ...common], {
        RENDEZVOUS_PEER_POINT: address(1),
        // whitespace and commas both separate items
        RENDEZVOUS_ADMIT_POINT: `${ids[0]} ${ids[1]},${ids[2]}`
      })
    ])
    const listening = performance.now() - started
    const all = [...ids].sort()

    for (const point of [a, b, c]) {
      expect(point.stdout()).to.include(`network of points: listed under ${POINTS_NAMESPACE}`)
    }

    const took = await within('every point listing all three', 30_000, async () => {
      const lists = await Promise.all([a, b, c].map(listed))
      return lists.every(list => list.join() === all.join())
    })
    const fromSpawn = performance.now() - started

    const metrics = await Promise.all([a, b, c].map(async point => (await fetch(`${point.listening.metrics}`)).text()))
    const known = metrics.map(text => [sample(text, 'libp2p_rendezvous_server_points{source="peer"}'), sample(text, 'libp2p_rendezvous_server_points{source="learned"}')])
    expect(known).to.deep.equal([[0, 2], [1, 1], [1, 1]])

    for (const text of metrics) {
      expect(sample(text, 'libp2p_rendezvous_server_point_announcements_total{outcome="ok"}')).to.be.at.least(2)
      expect(sample(text, 'libp2p_rendezvous_server_point_admissions_total{outcome="admitted"}')).to.be.at.least(2)
      expect(sample(text, 'libp2p_rendezvous_server_point_admissions_total{outcome="not_listed"}')).to.equal(0)
    }

    // how often a REGISTER under /libp2p/rendezvous came before identify had said what the registrant serves
    const logs = [a, b, c].map(point => point.stderr()).join('\n')
    const waits = [...logs.matchAll(/waited (\d+) ms for identify/g)].map(([, ms]) => Number(ms))
    const admitted = metrics.reduce((sum, text) => sum + sample(text, 'libp2p_rendezvous_server_point_admissions_total{outcome="admitted"}'), 0)

    // SIGKILL: no UNREGISTER; the others notice the closed connections, find nobody, and drop it with its listing
    await c.stop('SIGKILL')
    const dropped = await within('A and B no longer listing C', 10_000, async () => {
      const lists = await Promise.all([a, b].map(listed))
      return lists.every(list => !list.includes(ids[2]))
    })

    // eslint-disable-next-line no-console
    console.log(`      POINTS_CHAIN_REPORT processes: all three listening ${Math.round(listening)} ms after spawn; all three listed by all three ${Math.round(took)} ms later, ${Math.round(fromSpawn)} ms after spawn (goal 30000 ms); a SIGKILLed point unlisted by both others in ${Math.round(dropped)} ms (bound 10000 ms); identify waits: ${waits.length} of ${admitted} admitted REGISTERs, longest ${Math.max(0, ...waits)} ms`)
    expect(fromSpawn).to.be.below(30_000)

    for (const point of [a, b]) {
      expect(await point.stop()).to.deep.equal({ code: 0, signal: null })
    }
  })
})
