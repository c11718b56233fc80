/**
 * Nothing acknowledged is lost: registrations acknowledged by a `rendezvous-server` process on PostgreSQL are all
 * there after that process is killed without warning (SIGKILL, in the middle of a stream of registrations) and a
 * new one starts on the same database.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { killAll, startCli } from '../../cli/fixtures/cli-process.ts'
import { createTcpClient } from '../../cli/fixtures/tcp-client.ts'
import { dropSchema, POSTGRES_URL, skipWithoutPostgres, uniqueSchema } from '../../server/store/postgres-test-database.ts'
import type { ClientNode } from '../../cli/fixtures/tcp-client.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('rendezvous-server on PostgreSQL, killed with SIGKILL', function () {
  this.timeout(120_000)

  let dir: string
  const schema = uniqueSchema('durability')
  const clients: ClientNode[] = []

  before(function () {
    skipWithoutPostgres(this, 'rendezvous-server durability')
  })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-durability-'))
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async client => client.stop()))
    await killAll()
    await rm(dir, { recursive: true, force: true })
    if (POSTGRES_URL != null) {
      await dropSchema(schema)
    }
  })

  function serverArgs (): string[] {
    return [
      '--listen', '/ip4/127.0.0.1/tcp/0',
      '--identity', join(dir, 'identity.key'),
      '--store', POSTGRES_URL ?? '',
      '--postgres-schema', schema,
      '--inbound-connection-threshold', '1000'
    ]
  }

  it('still holds every acknowledged registration when a new server starts on the same database', async () => {
    const first = await startCli(serverArgs())
    for (let i = 0; i < 3; i++) {
      clients.push(await createTcpClient())
    }

    const acknowledged = new Set<string>()
    const register = async (client: ClientNode, point: Multiaddr, namespace: string): Promise<void> => {
      await client.services.rendezvous.register(point, namespace, { signal: AbortSignal.timeout(5_000) })
      acknowledged.add(`${client.peerId.toString()}@${namespace}`)
    }

    // a first batch, all acknowledged before anything happens to the server
    await Promise.all(clients.flatMap(client => [0, 1, 2, 3, 4].map(async n => register(client, first.tcp, `durable/${n}`))))
    expect(acknowledged.size).to.equal(15)

    // then a stream of registrations from every client, with the server killed in the middle of it
    const killed = new AbortController()
    const streams = clients.map(async client => {
      for (let n = 5; !killed.signal.aborted; n++) {
        try {
          await register(client, first.tcp, `durable/${n}`)
        } catch {
          // refused or cut off by the kill: not acknowledged, so not counted
          return
        }
      }
    })
    // kill once the stream is well under way (at least three more acknowledgements per client), never later than 10 s
    await pWaitFor(() => acknowledged.size >= 24, { interval: 50, timeout: { milliseconds: 10_000, fallback: () => {} } })
    const beforeKill = acknowledged.size
    const exit = await first.stop('SIGKILL')
    killed.abort()
    await Promise.all(streams)

    expect(exit.signal).to.equal('SIGKILL')
    expect(beforeKill).to.be.greaterThan(15)

    const second = await startCli(serverArgs())
    expect(second.listening.peerId).to.equal(first.listening.peerId)

    const seeker = await createTcpClient()
    clients.push(seeker)
    const found = new Set<string>()
    for await (const registration of seeker.services.rendezvous.discoverAll(second.tcp, undefined, { cookie: null })) {
      found.add(`${registration.peerId.toString()}@${registration.namespace}`)
    }

    const lost = [...acknowledged].filter(key => !found.has(key))
    expect(lost, `${lost.length} of ${acknowledged.size} acknowledged registrations lost`).to.be.empty()
    expect(await second.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null })
  })
})
