/**
 * Three rendezvous servers on one PostgreSQL database, run in this process exactly as the command runs them, each
 * with its own identity and TCP port: a fleet. Clients talk to them over TCP on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { parseCli } from '../../../src/cli/parse-cli.ts'
import { runServer } from '../../../src/cli/run-server.ts'
import { RendezvousError } from '../../../src/errors.ts'
import { createTcpClient } from '../../cli/fixtures/tcp-client.ts'
import { dropSchema, POSTGRES_URL, skipWithoutPostgres, uniqueSchema } from '../../server/store/postgres-test-database.ts'
import type { RunningServer } from '../../../src/cli/run-server.ts'
import type { ClientNode } from '../../cli/fixtures/tcp-client.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Member {
  server: RunningServer
  address: Multiaddr
}

describe('a fleet of rendezvous servers on one PostgreSQL database', function () {
  this.timeout(60_000)

  let dir: string
  let schema: string
  let fleet: Member[] = []
  const clients: ClientNode[] = []

  before(function () {
    skipWithoutPostgres(this, 'rendezvous server fleet')
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-fleet-'))
    schema = uniqueSchema('fleet')
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async client => client.stop()))
    await Promise.all(fleet.map(async member => member.server.stop()))
    fleet = []
    await rm(dir, { recursive: true, force: true })
    if (POSTGRES_URL != null) {
      await dropSchema(schema)
    }
  })

  /** Starts `size` servers on the test schema, with the given extra flags */
  async function startFleet (size: number, flags: string[] = []): Promise<Member[]> {
    for (let i = 0; i < size; i++) {
      const request = parseCli([
        '--listen', '/ip4/127.0.0.1/tcp/0',
        '--identity', join(dir, `server-${i}.key`),
        '--store', POSTGRES_URL ?? '',
        '--postgres-schema', schema,
        '--postgres-max-connections', '4',
        '--postgres-max-read-connections', '2',
        '--postgres-statement-timeout', '4000',
        '--inbound-connection-threshold', '1000',
        ...flags
      ], {}, () => '')

      if (request.action !== 'run') {
        throw new Error('expected a run request')
      }

      const server = await runServer(request.config, { stderr: () => {} })
      fleet.push({ server, address: multiaddr(server.multiaddrs[0]) })
    }

    return fleet
  }

  async function client (): Promise<ClientNode> {
    const node = await createTcpClient()
    clients.push(node)
    return node
  }

  it('discovers through every server a registration made through one', async () => {
    const [a, b, c] = await startFleet(3)
    const registrant = await client()
    const seeker = await client()

    await registrant.services.rendezvous.register(a.address, 'fleet/app')

    for (const member of [a, b, c]) {
      const found = await seeker.services.rendezvous.discover(member.address, 'fleet/app', { cookie: null })
      expect(found.registrations.map(r => r.peerId.toString())).to.deep.equal([registrant.peerId.toString()])
    }
  })

  it('continues on one server a cookie another server issued, returning only what is new', async () => {
    const [a, b] = await startFleet(2)
    const first = await client()
    const second = await client()
    const seeker = await client()

    await first.services.rendezvous.register(a.address, 'fleet/cookies')
    const fromA = await seeker.services.rendezvous.discover(a.address, 'fleet/cookies', { cookie: null })
    expect(fromA.registrations).to.have.lengthOf(1)
    expect(fromA.cookie).to.exist()

    await second.services.rendezvous.register(b.address, 'fleet/cookies')
    const fromB = await seeker.services.rendezvous.discover(b.address, 'fleet/cookies', { cookie: fromA.cookie })
    expect(fromB.registrations.map(r => r.peerId.toString())).to.deep.equal([second.peerId.toString()])

    // and back: B's cookie on A, with nothing new since
    const again = await seeker.services.rendezvous.discover(a.address, 'fleet/cookies', { cookie: fromB.cookie })
    expect(again.registrations).to.be.empty()
  })

  it('holds the per-peer limit across the fleet, also when one peer registers through every server at once', async () => {
    const members = await startFleet(3, ['--max-registrations-per-peer', '2'])
    const registrant = await client()

    const outcomes = await Promise.allSettled(Array.from({ length: 9 }, async (_, i) =>
      registrant.services.rendezvous.register(members[i % 3].address, `fleet/limit/${i}`)
    ))

    expect(outcomes.filter(o => o.status === 'fulfilled')).to.have.lengthOf(2)
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).to.be.an.instanceOf(RendezvousError)
        expect(outcome.reason.code).to.equal(200)
      }
    }

    // a refresh of one it holds is still accepted, through any server
    const held = outcomes.findIndex(o => o.status === 'fulfilled')
    await registrant.services.rendezvous.register(members[(held + 1) % 3].address, `fleet/limit/${held}`)
  })

  it('lets every server sweep expired registrations at once, removing each exactly once', async () => {
    // TTLs of one second, and no timed sweeps during the test: the test runs them
    const members = await startFleet(3, ['--min-ttl', '1', '--default-ttl', '1', '--sweep-interval', '3600000'])
    const registrants = await Promise.all([1, 2, 3, 4].map(async () => client()))

    await Promise.all(registrants.flatMap((registrant, r) => [0, 1, 2].map(async n =>
      registrant.services.rendezvous.register(members[(r + n) % 3].address, `fleet/sweep/${n}`, { ttl: 1 })
    )))
    await new Promise(resolve => setTimeout(resolve, 1_100))

    const removed = await Promise.all(members.map(async member => member.server.rendezvous.node.services.rendezvous.sweep()))
    expect(removed.reduce((x, y) => x + y, 0)).to.equal(12)
    expect(await members[0].server.rendezvous.store.stats(Date.now())).to.deep.equal({ registrations: 0, namespaces: 0 })
  })
})
