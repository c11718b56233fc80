import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { RELAY_NAMESPACE } from '../../src/constants.ts'
import { killAll, runCli, spawnCli, startCli } from './fixtures/cli-process.ts'
import { createRelayedTcpNode, createTcpClient } from './fixtures/tcp-client.ts'
import type { ClientNode } from './fixtures/tcp-client.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { AddressInfo, Server } from 'node:net'

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
  const others: Libp2p[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-cli-'))
  })

  afterEach(async () => {
    await Promise.all([...clients.splice(0), ...others.splice(0)].map(async node => node.stop()))
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
    // the listening line stays the last line on stdout, as documented; what the stop says goes to stderr
    expect(server.stdout().trimEnd().split('\n').at(-1)).to.match(/^\{"event":"listening"/)
    expect(server.stderr()).to.equal('rendezvous-server: SIGTERM, stopping\nrendezvous-server: stopped\n')
  })

  it('keeps its peer id across restarts, exits 1 when its port is taken, and exits 0 on SIGINT', async () => {
    const identity = join(dir, 'state', 'identity.key')
    const first = await startCli(['--listen', '/ip4/127.0.0.1/tcp/0', '--identity', identity])
    const port = first.tcp.getComponents().find(component => component.name === 'tcp')?.value

    const taken = await runCli(['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--identity', join(dir, 'other.key')])
    expect(taken.code).to.equal(1)
    // one line, without libp2p's advice about an option the command does not have, nor a stack trace
    expect(taken.stderr).to.equal(`rendezvous-server: could not start: cannot listen on /ip4/127.0.0.1/tcp/${port}: the port is in use by another process\n`)

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
    // on a loaded machine identify can take seconds
    await pWaitFor(async () => {
      protocols = (await seeker.peerStore.get(serverId)).protocols
      return protocols.includes('/rendezvous/1.0.0') && protocols.includes('/libp2p/circuit/relay/0.2.0/hop')
    }, { interval: 50, timeout: { milliseconds: 15_000, fallback: () => {} } })
    expect(protocols).to.include('/libp2p/circuit/relay/0.2.0/hop')
    expect(protocols).to.include('/rendezvous/1.0.0')

    // a stopping relay takes itself out of the namespace
    expect(await server.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
  })

  it('relays connections with the circuit relay limits by default, and with none under --relay-unlimited', async () => {
    for (const unlimited of [false, true]) {
      const server = await startCli([...LOOPBACK, '--identity', join(dir, `relay-${unlimited}.key`), '--relay', ...(unlimited ? ['--relay-unlimited'] : [])])
      expect(server.stdout()).to.include(unlimited ? 'relayed connections unlimited' : 'circuit relay: on')

      const listener = await createRelayedTcpNode(true)
      const dialer = await createRelayedTcpNode(false)
      others.push(listener, dialer)
      await listener.dial(server.tcp)
      let circuit: Multiaddr | undefined
      await pWaitFor(() => {
        circuit = listener.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit'))
        return circuit != null
      }, { interval: 50, timeout: { milliseconds: 5000, fallback: () => {} } })
      expect(circuit, 'a reservation on the relay').to.exist()

      const connection = await dialer.dial(circuit as Multiaddr, { signal: AbortSignal.timeout(10_000) })
      expect(connection.remotePeer.equals(listener.peerId)).to.be.true()
      if (unlimited) {
        expect(connection.limits, 'no limit: go-libp2p would refuse streams on a limited connection').to.be.undefined()
      } else {
        // @libp2p/circuit-relay-v2's default: 128 KiB (less what the handshake used) and 2 minutes
        const bytes = connection.limits?.bytes
        expect(bytes != null && bytes > 0n && bytes <= 131072n, `a data limit of at most 128 KiB, got ${bytes}`).to.be.true()
        expect(connection.limits?.seconds).to.be.a('number')
      }

      expect(await server.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
    }
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
    expect(badValue.stderr).to.include('--max-ttl must be a whole number of seconds from 1 to 259200, got "forever"')
    expect(badValue.stdout).to.equal('')
  })

  it('exits 2 for a bad --postgres-schema, before it creates the identity file', async () => {
    const identity = join(dir, 'id.key')
    const result = await runCli([...LOOPBACK, '--identity', identity, '--store', 'postgres://rendezvous:secret@127.0.0.1:1/none', '--postgres-schema', 'fleet-a'])

    expect(result.code).to.equal(2)
    expect(result.stderr).to.include('--postgres-schema must be a plain identifier (letters, digits and _, not starting with a digit, at most 63), got "fleet-a"')
    expect(existsSync(identity)).to.be.false()
  })

  it('exits 2 for a store URL with port 99999 and for a QUIC listen address', async () => {
    const url = await runCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--store', 'postgres://rendezvous:secret@127.0.0.1:99999/none'])
    expect(url.code).to.equal(2)
    expect(url.stderr).to.include('port 99999 is not a port number').and.not.include('secret')

    const quic = await runCli(['--listen', '/ip4/127.0.0.1/udp/0/quic-v1', '--identity', join(dir, 'id.key')])
    expect(quic.code).to.equal(2)
    expect(quic.stderr).to.include('the only ones this server listens on, got "/ip4/127.0.0.1/udp/0/quic-v1"').and.not.include('    at ')
  })

  describe('with a store URL pointing at a service that is not PostgreSQL', () => {
    let service: Server
    let connections = 0

    beforeEach(async () => {
      connections = 0
      // answers whatever it is sent as a web server would, and hangs up: the driver reconnects without end
      service = createServer(socket => {
        connections++
        socket.on('data', () => { socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n') })
        socket.on('error', () => {})
      })
      await new Promise<void>(resolve => service.listen(0, '127.0.0.1', resolve))
    })

    afterEach(async () => {
      await new Promise(resolve => service.close(resolve))
    })

    function storeUrl (): string {
      return `postgres://rendezvous:secret@127.0.0.1:${(service.address() as AddressInfo).port}/rendezvous`
    }

    it('exits 1 with a clear message at the store start deadline', async () => {
      const result = await runCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--store', storeUrl(), '--store-start-timeout', '2000'])

      expect(result.code).to.equal(1)
      expect(result.stderr).to.match(/could not start: the store postgres:\/\/rendezvous:\*\*\*@127\.0\.0\.1:\d+\/rendezvous \(schema public\) did not start within 2000 ms: is it a PostgreSQL server, and reachable\?/)
      expect(connections).to.be.above(0)
    })

    it('stops at SIGTERM while the store is starting, and exits 0', async () => {
      const child = spawnCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--store', storeUrl()])

      // the command has reached the store once the service has seen a connection
      await pWaitFor(() => connections > 0, { interval: 50, timeout: { milliseconds: 30_000, fallback: () => {} } })
      expect(connections, 'the command never reached the store').to.be.above(0)

      child.child.kill('SIGTERM')
      const exit = await child.exited
      // the pipes may still hold the last chunks after 'exit'
      await new Promise(resolve => setImmediate(resolve))
      expect(exit).to.deep.equal({ code: 0, signal: null })
      expect(child.stderr()).to.include('rendezvous-server: SIGTERM, stopped during start-up')
      expect(child.stdout()).to.equal('')
    })
  })

  it('exits 1 with the reason when the database is unreachable', async () => {
    const result = await runCli([...LOOPBACK, '--identity', join(dir, 'id.key'), '--store', 'postgres://rendezvous:secret@127.0.0.1:1/none'])

    expect(result.code).to.equal(1)
    expect(result.stderr).to.include('could not start').and.include('ECONNREFUSED')
    expect(result.stderr).to.not.include('secret')
  })
})
