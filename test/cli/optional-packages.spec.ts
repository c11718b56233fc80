/**
 * The command loads the circuit relay, Prometheus and the PostgreSQL driver only when its flags ask for them
 * (issue 20, item 18): on an install without them, a server on a memory store without `--relay` or `--metrics`
 * runs and serves, and a flag that needs a missing package names the package and the line that installs it. The
 * packages are made to look not installed by a module resolve hook (fixtures/hide-packages.ts), the way Node
 * reports a package that is not there.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { killAll, runCli, startCli } from './fixtures/cli-process.ts'
import { createTcpClient } from './fixtures/tcp-client.ts'
import type { ClientNode } from './fixtures/tcp-client.ts'

const OPTIONAL = ['@libp2p/circuit-relay-v2', '@libp2p/prometheus-metrics', 'prom-client', 'postgres']
const HIDDEN = { RENDEZVOUS_TEST_HIDE_PACKAGES: OPTIONAL.join(',') }
const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0']

describe('rendezvous-server without its optional packages (issue 20, item 18)', function () {
  this.timeout(60_000)

  let dir: string
  let client: ClientNode | undefined

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-optional-'))
  })

  afterEach(async () => {
    await client?.stop()
    client = undefined
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves on a memory store without the relay, Prometheus or the PostgreSQL driver installed', async () => {
    const server = await startCli([...LOOPBACK, '--identity', join(dir, 'id.key')], HIDDEN)

    client = await createTcpClient()
    expect(await client.services.rendezvous.register(server.tcp, 'no-extras')).to.equal(7200)
    const found = await client.services.rendezvous.discover(server.tcp, 'no-extras')
    expect(found.registrations.map(r => r.peerId.toString())).to.deep.equal([client.peerId.toString()])

    expect(await server.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
  })

  it('names the package a flag needs, and the line that installs it', async () => {
    const cases: Array<[string[], string]> = [
      [['--relay'], 'the package "@libp2p/circuit-relay-v2" is not installed; --relay needs it: npm install @libp2p/circuit-relay-v2'],
      [['--metrics', '127.0.0.1:0'], 'the package "@libp2p/prometheus-metrics" is not installed; --metrics needs it: npm install @libp2p/prometheus-metrics prom-client'],
      [['--store', 'postgres://rendezvous:secret@127.0.0.1:1/none'], 'the package "postgres" is not installed; a PostgreSQL --store needs it: npm install postgres']
    ]

    for (const [flags, message] of cases) {
      const result = await runCli([...LOOPBACK, '--identity', join(dir, 'id.key'), ...flags], HIDDEN)
      expect(result, flags.join(' ')).to.deep.include({ code: 1, stdout: '', stderr: `rendezvous-server: ${message}\n` })
    }
  })
})
