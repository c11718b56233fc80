/**
 * Faults: a rendezvous point killed in the middle of a run and brought back empty, a point whose store answers
 * late or never, and the PostgreSQL server under a running point crashing and restarting. Clients must back off,
 * keep their quotas through the points that remain, come back to the point when it returns, and leak nothing;
 * the point must answer E_UNAVAILABLE (retry later) while its database is away or restarting, and recover by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { RendezvousError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { PostgresRegistrationStore } from '../../src/server/store/postgres-store.ts'
import { killAll, startCli } from '../cli/fixtures/cli-process.ts'
import { HangingStore, SlowStore } from '../fixtures/slow-store.ts'
import { FAST_POINT, connectedFor, createDiscoveryPeer, pointState } from './fixtures/discovery.ts'
import { NodeSet, openRendezvousStreams } from './fixtures/nodes.ts'
import { PostgresInstance, postgresUnavailable } from './fixtures/postgres-instance.ts'
import { CrashWatch, freePort, report } from './fixtures/process.ts'
import type { DiscoveryPeer } from './fixtures/discovery.ts'
import type { ServerNode } from './fixtures/nodes.ts'
import type { CliProcess } from '../cli/fixtures/cli-process.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

const { ResponseStatus } = Message

/** What a loaded, shared 2-core machine may add to a timeout */
const SLACK = 5000
const NS = 'faults'

/** How a request ended: OK, a wire status, or the name of the error */
async function outcomeOf (request: Promise<unknown>): Promise<string> {
  try {
    await request
    return ResponseStatus.OK
  } catch (err: any) {
    return err instanceof RendezvousError ? err.status : err.name
  }
}

/** One sample of a point's Prometheus metrics, e.g. `name{label="x"}`; undefined when it cannot be read */
async function metricSample (point: CliProcess, series: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(point.listening.metrics ?? '', { signal: AbortSignal.timeout(2000) })).text()
    const line = text.split('\n').find(l => l.startsWith(`${series} `))
    return line == null ? undefined : Number(line.slice(series.length + 1))
  } catch {
    return undefined
  }
}

/** Resolves within `ms` or rejects: a stop that hangs must fail the test, not the run */
async function within <T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} took more than ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

describe('stress: faults', function () {
  this.timeout(120_000)
  const nodes = new NodeSet()
  const crashes = new CrashWatch()

  before(() => { crashes.start() })
  after(() => { crashes.stop() })

  afterEach(async () => {
    await within(30_000, 'stopping every node', nodes.stopAll())
    expect(crashes.errors, crashes.describe()).to.be.empty()
  })

  async function peers (count: number, points: Array<ServerNode | Multiaddr>, quota = 3): Promise<DiscoveryPeer[]> {
    const made: DiscoveryPeer[] = []
    const addresses = points.map(p => 'getMultiaddrs' in p ? p.getMultiaddrs()[0] : p)

    for (let i = 0; i < count; i++) {
      made.push(nodes.add(await createDiscoveryPeer(addresses, { namespaces: [{ ns: NS, quota }] })))
    }

    return made
  }

  it('keeps every quota through the other point while one is killed (SIGKILL of its process), and re-registers at it when it comes back empty', async () => {
    // point A is the rendezvous-server command in a process of its own, on TCP: a SIGKILL gives it no chance to
    // close a stream, send a FIN of its own accord or unregister anything; its clients learn it is gone from
    // their sockets failing. It comes back with the same identity and port, and an empty memory store.
    const dir = await mkdtemp(join(tmpdir(), 'rdv-stress-kill-'))
    const port = await freePort()
    const pointArgs = [
      '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--identity', join(dir, 'point-a.key'), '--metrics', '127.0.0.1:0',
      // FAST_POINT as flags, and room for every peer of this test connecting from 127.0.0.1 in one second
      '--min-ttl', String(FAST_POINT.minTtl), '--max-ttl', String(FAST_POINT.maxTtl), '--default-ttl', String(FAST_POINT.defaultTtl),
      '--sweep-interval', String(FAST_POINT.sweepInterval), '--inbound-connection-threshold', '100', '--log-level', 'error'
    ]

    try {
      let a = await startCli(pointArgs)
      const b = await nodes.server(FAST_POINT)
      const idA = a.listening.peerId
      const pointA = a.tcp
      const registrationsAt = async (point: CliProcess): Promise<number | undefined> => metricSample(point, 'libp2p_rendezvous_server_store{kind="registrations"}')
      const group = await peers(6, [pointA, b])

      await pWaitFor(() => group.every(p => connectedFor(p, NS) >= 3), { interval: 50, timeout: { milliseconds: 30_000, message: 'timed out waiting until every peer met its quota' } })
      await pWaitFor(async () => await registrationsAt(a) === 6, { interval: 50, timeout: { milliseconds: 10_000, message: 'timed out waiting until every peer registered at A' } })

      // kill A
      a.child.kill('SIGKILL')
      expect(await a.exited).to.deep.equal({ code: null, signal: 'SIGKILL' })
      const killedAt = Date.now()

      await pWaitFor(() => group.every(p => pointState(p, idA)?.down === true && (pointState(p, idA)?.failures ?? 0) > 0), { interval: 50, timeout: { milliseconds: 10_000, message: 'timed out waiting until every peer noticed A is down' } })
      const noticedIn = Date.now() - killedAt

      // a newcomer during the outage finds its peers through B alone
      const [late] = await peers(1, [pointA, b])
      const lateJoined = Date.now()
      await pWaitFor(() => connectedFor(late, NS) >= 3, { interval: 50, timeout: { milliseconds: 20_000, message: 'timed out waiting until the newcomer met its quota through B' } })
      const lateMetIn = Date.now() - lateJoined

      // stay down for more than a TTL (3 s): the registrations at B are refreshed, quotas hold
      await new Promise(resolve => setTimeout(resolve, Math.max(0, 4000 - (Date.now() - killedAt))))
      const outage = Date.now() - killedAt
      const failures = group.map(p => pointState(p, idA)?.failures ?? 0)
      expect(group.every(p => connectedFor(p, NS) >= 3), 'quotas held through the outage').to.be.true()
      expect((await b.services.rendezvous.store.stats(Date.now())).registrations, 'registrations at the other point').to.equal(7)
      // backing off: far fewer attempts than one per 100 ms (the initial backoff) over the outage
      expect(Math.max(...failures), `most failed attempts of one peer at the dead point in ${outage} ms: it did not back off`).to.be.below(outage / 100)

      // A returns: same identity and address, nothing in its store
      a = await startCli(pointArgs)
      expect(a.listening.peerId).to.equal(idA)
      const returned = Date.now()
      await pWaitFor(async () => await registrationsAt(a) === 7, { interval: 50, timeout: { milliseconds: 20_000, message: 'timed out waiting until every peer registered at A again' } })
      const reRegisteredIn = Date.now() - returned

      report('killed point', `SIGKILL noticed by all 6 peers in ${noticedIn} ms; a newcomer met its quota of 3 through the other point in ${lateMetIn} ms; outage ${outage} ms with at most ${Math.max(...failures)} failed attempts per peer at the dead point; all 7 re-registered at the returned point in ${reRegisteredIn} ms`)
    } finally {
      await killAll()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('times out on a point that never answers, leaves no stream open on either side, and the point still stops', async () => {
    const timeout = 1000
    const point = await nodes.server({ store: new HangingStore(), timeout })
    const client = await nodes.client({ timeout: 500 })
    const address = point.getMultiaddrs()[0]

    const started = Date.now()
    const outcomes = await Promise.all([
      ...Array.from({ length: 10 }, async (_, i) => outcomeOf(client.services.rendezvous.register(address, `hang/${i}`))),
      ...Array.from({ length: 10 }, async (_, i) => outcomeOf(client.services.rendezvous.discover(address, `hang/${i}`)))
    ])
    const elapsed = Date.now() - started

    expect(outcomes).to.deep.equal(Array(20).fill('TimeoutError'))
    expect(elapsed).to.be.below(500 + SLACK)
    await pWaitFor(() => openRendezvousStreams(client).length === 0, { interval: 50, timeout: { milliseconds: SLACK, message: 'timed out waiting until client streams closed' } })
    await pWaitFor(() => openRendezvousStreams(point).length === 0, { interval: 50, timeout: { milliseconds: timeout + SLACK, message: 'timed out waiting until server streams closed' } })

    // a client that waits longer is told why: E_UNAVAILABLE once 80% of the point's timeout has gone by
    const patient = await nodes.client({ timeout: timeout + SLACK })
    const patientStarted = Date.now()
    expect(await outcomeOf(patient.services.rendezvous.register(address, 'patient'))).to.equal(ResponseStatus.E_UNAVAILABLE)
    expect(await outcomeOf(patient.services.rendezvous.discover(address, 'patient'))).to.equal(ResponseStatus.E_UNAVAILABLE)
    const patientWaited = Date.now() - patientStarted

    // the requests it could not finish do not hold its stop hostage
    const stopping = Date.now()
    await within(timeout + SLACK, 'stopping a point whose store hangs', nodes.stop(point))
    report('hanging point', `20 requests timed out on the client in ${elapsed} ms (client timeout 500 ms); a patient client got E_UNAVAILABLE twice in ${patientWaited} ms (point timeout ${timeout} ms); the point stopped in ${Date.now() - stopping} ms`)
  })

  it('times out on a point that answers late without crashing it, and the scheduler meets its quota at the other point', async () => {
    const slow = await nodes.server({ ...FAST_POINT, store: new SlowStore(1500), timeout: 3000 })
    const good = await nodes.server(FAST_POINT)
    const client = await nodes.client({ timeout: 500 })

    // the client gives up at 500 ms; the point answers at 1500 ms into a stream that is gone
    expect(await outcomeOf(client.services.rendezvous.register(slow.getMultiaddrs()[0], 'late'))).to.equal('TimeoutError')
    await new Promise(resolve => setTimeout(resolve, 2000))
    await pWaitFor(() => openRendezvousStreams(slow).length === 0, { interval: 50, timeout: { milliseconds: SLACK, message: 'timed out waiting until the slow point\'s streams closed' } })

    const group = await peers(3, [slow, good], 2)
    await pWaitFor(() => group.every(p => connectedFor(p, NS) >= 2), { interval: 50, timeout: { milliseconds: 20_000, message: 'timed out waiting until quotas met through the good point' } })
    await pWaitFor(() => group.every(p => (pointState(p, slow)?.failures ?? 0) > 0), { interval: 50, timeout: { milliseconds: 10_000, message: 'timed out waiting until every peer saw the slow point time out' } })
    expect(group.every(p => connectedFor(p, NS) >= 2), 'quotas still met').to.be.true()
  })

  describe('with a PostgreSQL store', () => {
    let postgres: PostgresInstance | undefined

    before(async function () {
      const why = postgresUnavailable()

      if (why != null) {
        // eslint-disable-next-line no-console
        console.log(`      skipped: ${why}`)
        this.skip()
      }

      this.timeout(120_000)
      postgres = await PostgresInstance.create()
    })

    after(async () => {
      await postgres?.destroy()
    })

    it('fails every request with E_UNAVAILABLE while PostgreSQL is down and while it restarts, never crashes, and resumes by itself', async function () {
      if (postgres == null) {
        this.skip()
        return
      }

      const { OK, E_UNAVAILABLE } = ResponseStatus
      const store = new PostgresRegistrationStore({ url: postgres.url, schema: 'stress_faults', connectTimeout: 2 })
      // the point's timeout is shorter than its clients': a store that is slow to fail still gets them a status
      const point = await nodes.server({ ...FAST_POINT, store, timeout: 4000 })
      const client = await nodes.client({ timeout: 10_000 })
      const address = point.getMultiaddrs()[0]
      const ask = async (ns: string): Promise<string[]> => Promise.all([
        outcomeOf(client.services.rendezvous.register(address, ns)),
        outcomeOf(client.services.rendezvous.discover(address, ns, { cookie: null }))
      ])

      expect(await ask('before')).to.deep.equal([OK, OK])

      // a crash: no checkpoint, connections cut. docs/server.md promises E_UNAVAILABLE ("retry later"), which a
      // client retries; E_INTERNAL_ERROR would tell it the point is broken
      await postgres.crash()
      const down: string[] = []
      for (let i = 0; i < 5; i++) {
        down.push(...await ask('while-down'))
      }
      expect(down, `while down: ${down.join(', ')}`).to.deep.equal(Array(10).fill(E_UNAVAILABLE))

      await postgres.start()
      const startedAt = Date.now()
      await pWaitFor(async () => (await ask('after')).every(s => s === OK), { interval: 50, timeout: { milliseconds: 30_000, message: 'timed out waiting until service resumed' } })
      const resumedIn = Date.now() - startedAt

      // what was acknowledged before the crash is still there
      const before = await client.services.rendezvous.discover(address, 'before', { cookie: null })
      expect(before.registrations.map(r => r.peerId.toString())).to.deep.equal([client.peerId.toString()])

      // a restart under steady traffic (pg_ctl restart's fast shutdown, then its start once the traffic has met
      // the outage): OK or E_UNAVAILABLE only, then OK again
      const during: string[] = []
      const restarting = { on: true }
      const traffic = (async () => {
        while (restarting.on) {
          during.push(...await ask('during-restart'))
        }
      })()
      await postgres.shutdown()
      await pWaitFor(() => during.some(s => s !== OK), { interval: 50, timeout: { milliseconds: 10_000, message: 'timed out waiting until the traffic met the shutdown' } })
      await postgres.start()
      const restartedAt = Date.now()
      await pWaitFor(async () => (await ask('after-restart')).every(s => s === OK), { interval: 50, timeout: { milliseconds: 30_000, message: 'timed out waiting until service resumed after the restart' } })
      const resumedAfterRestartIn = Date.now() - restartedAt
      restarting.on = false
      await traffic

      const unexpected = during.filter(s => s !== OK && s !== E_UNAVAILABLE)
      report('postgresql crash', `while down: ${down.length} requests, all ${[...new Set(down)].join('/')}; OK again ${resumedIn} ms after PostgreSQL started`)
      report('postgresql restart', `${during.length} requests during the restart: ${[...new Set(during)].map(s => `${s} ${during.filter(d => d === s).length}`).join(', ')}; OK again ${resumedAfterRestartIn} ms after it started`)
      expect(unexpected, `outcomes other than OK and E_UNAVAILABLE during the restart: ${unexpected.join(', ')}`).to.be.empty()
      expect(during).to.include(E_UNAVAILABLE)
      expect(point.services.rendezvous.isStarted()).to.be.true()
    })
  })
})
