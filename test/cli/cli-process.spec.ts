import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { RELAY_NAMESPACE } from '../../src/constants.ts'
import { killAll, runCli, startCli } from './fixtures/cli-process.ts'
import { createTcpClient } from './fixtures/tcp-client.ts'
import type { ClientNode } from './fixtures/tcp-client.ts'

const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws']

/** The value of one sample of a Prometheus text exposition, e.g. `name{label="x"}` */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line == null ? undefined : Number(line.slice(series.length + 1))
}

describe('rendezvous-server (child process)', function () {
  // spawning Node with type transformation takes a second or two on a busy 2-core machine
  this.timeout(60_000)

  let dir: string
  const clients: ClientNode[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-cli-'))
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async client => client.stop()))
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  async function client (): Promise<ClientNode> {
    const node = await createTcpClient()
    clients.push(node)
    return node
  }

  it('serves register and discover over TCP, counts them in /metrics, and exits 0 on SIGTERM', async () => {
    const server = await startCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--metrics', '127.0.0.1:0'])

    expect(server.listening.multiaddrs.some(ma => ma.includes('/ws/'))).to.be.true()
    expect(server.listening.multiaddrs.every(ma => ma.endsWith(`/p2p/${server.listening.peerId}`))).to.be.true()
    // the addresses are also printed one per line for people
    for (const ma of server.listening.multiaddrs) {
      expect(server.stdout().split('\n')).to.include(ma)
    }

    const registrant = await client()
    const seeker = await client()
    const ttl = await registrant.services.rendezvous.register(server.tcp, 'e2e/cli')
    expect(ttl).to.equal(7200)

    const found = await seeker.services.rendezvous.discover(server.tcp, 'e2e/cli')
    expect(found.registrations.map(r => r.peerId.toString())).to.deep.equal([registrant.peerId.toString()])
    expect(found.registrations[0].multiaddrs.map(ma => ma.toString())).to.deep.equal(registrant.getMultiaddrs().map(ma => ma.decapsulateCode(421).toString()))

    const metricsUrl = server.listening.metrics ?? ''
    expect(metricsUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const response = await fetch(metricsUrl)
    expect(response.status).to.equal(200)
    const text = await response.text()
    expect(sample(text, 'libp2p_rendezvous_server_requests_total{request="register_OK"}')).to.equal(1)
    expect(sample(text, 'libp2p_rendezvous_server_requests_total{request="discover_OK"}')).to.equal(1)
    expect(sample(text, 'libp2p_rendezvous_server_store{kind="registrations"}')).to.equal(1)
    expect(sample(text, 'libp2p_rendezvous_server_store{kind="namespaces"}')).to.equal(1)
    expect(text).to.include('libp2p_rendezvous_server_request_duration_seconds_bucket')
    expect((await fetch(metricsUrl.replace('/metrics', '/health'))).status).to.equal(200)
    expect((await fetch(metricsUrl.replace('/metrics', '/nothing'))).status).to.equal(404)

    const exit = await server.stop('SIGTERM')
    expect(exit).to.deep.equal({ code: 0, signal: null })
    expect(server.stdout()).to.include('SIGTERM, stopping').and.include('rendezvous-server: stopped')
    expect(server.stderr()).to.equal('')
  })

  it('keeps its peer id across restarts, exits 1 when its port is taken, and exits 0 on SIGINT', async () => {
    const identity = join(dir, 'state', 'identity.key')
    const first = await startCli(['--listen', '/ip4/127.0.0.1/tcp/0', '--identity', identity])
    const port = first.tcp.getComponents().find(component => component.name === 'tcp')?.value

    const taken = await runCli(['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--identity', join(dir, 'other.key')])
    expect(taken.code).to.equal(1)
    expect(taken.stderr).to.include('could not start')

    expect(await first.stop('SIGINT')).to.deep.equal({ code: 0, signal: null })

    const second = await startCli(['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--identity', identity])
    expect(second.listening.peerId).to.equal(first.listening.peerId)
    expect(await second.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
  })

  it('with --relay, serves circuit relay and lists itself under the relay namespace', async () => {
    const server = await startCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--relay'])
    expect(server.listening.relay).to.be.true()

    const seeker = await client()
    const found = await seeker.services.rendezvous.discover(server.tcp, RELAY_NAMESPACE)
    expect(found.registrations.map(r => r.peerId.toString())).to.deep.equal([server.listening.peerId])
    expect(found.registrations[0].multiaddrs).to.not.be.empty()

    // identify tells the seeker what the server speaks; it runs just after the connection opens
    const serverId = found.registrations[0].peerId
    let protocols: string[] = []
    for (let i = 0; i < 100 && !protocols.includes('/rendezvous/1.0.0'); i++) {
      protocols = (await seeker.peerStore.get(serverId)).protocols
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    expect(protocols).to.include('/libp2p/circuit/relay/0.2.0/hop')
    expect(protocols).to.include('/rendezvous/1.0.0')

    // a stopping relay takes itself out of the namespace
    expect(await server.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
  })

  it('prints the options and exits 0 for --help', async () => {
    const result = await runCli(['--help'])

    expect(result.code).to.equal(0)
    expect(result.stdout).to.include('Usage: rendezvous-server').and.include('--store').and.include('RENDEZVOUS_METRICS')
  })

  it('exits 2 with a message naming the flag for bad options, and starts nothing', async () => {
    const unknown = await runCli(['--listen-on', '/ip4/127.0.0.1/tcp/0'])
    expect(unknown.code).to.equal(2)
    expect(unknown.stderr).to.include("'--listen-on'").and.include('--help')

    const badValue = await runCli(['--max-ttl', 'forever'])
    expect(badValue.code).to.equal(2)
    expect(badValue.stderr).to.include('--max-ttl must be a positive integer')
    expect(badValue.stdout).to.equal('')
  })

  it('exits 1 with the reason when the database is unreachable', async () => {
    const result = await runCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--store', 'postgres://rendezvous:secret@127.0.0.1:1/none'])

    expect(result.code).to.equal(1)
    expect(result.stderr).to.include('could not start').and.include('ECONNREFUSED')
    expect(result.stderr).to.not.include('secret')
  })
})
