/**
 * What a DISCOVER costs when its requester reads only legacy records (a rust-libp2p client, or anyone whose
 * identify agent says `rust-libp2p/…`) in a namespace of thousands of standard ones. Each registration's format is
 * known from when it was stored and each store keeps the legacy ones apart, so the work is the page: counted here
 * as store reads and registrations they return, and for PostgreSQL as the rows its plan touches (EXPLAIN ANALYZE of
 * the store's own statement). Never timed: the CPU figures are in benchmarks/server.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import postgres from 'postgres'
import { Message } from '../../src/pb/rendezvous.ts'
import { peerRecordFormatOf, sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { discoverQuery } from '../../src/server/store/postgres-discover.ts'
import { PostgresRegistrationStore } from '../../src/server/store/postgres-store.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import { discover, register, TestNodes } from './fixtures.ts'
import { dropSchema, POSTGRES_URL, skipWithoutPostgres, uniqueSchema, withDatabase } from './store/postgres-test-database.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { PeerRecordFormat } from '../../src/protocol/peer-record.ts'
import type { DiscoverPage, DiscoverQuery, RegistrationStore } from '../../src/server/store/registration-store.ts'

const { ResponseStatus } = Message

/** Standard registrations around the few legacy ones: the review's namespace held 19,980 */
const STANDARD = 5000
const LEGACY = 3
const LONG = 60 * 60 * 1000

/** Store reads a server makes, and the registrations they return */
interface Reads { reads: number, rows: number }

function counting <S extends RegistrationStore> (store: S): S & { counted: Reads } {
  const counted: Reads = { reads: 0, rows: 0 }
  const discoverOf = store.discover.bind(store)
  return Object.assign(store, {
    counted,
    discover: async (query: DiscoverQuery): Promise<DiscoverPage> => {
      const page = await discoverOf(query)
      counted.reads++
      counted.rows += page.registrations.length
      return page
    }
  })
}

/** A peer whose identify agent is rust-libp2p's default */
async function rustAgent (nodes: ClientNode[]): Promise<ClientNode> {
  const node = await createMemoryNode({ nodeInfo: { userAgent: 'rust-libp2p/0.57.1' } } as any, 'rust') as ClientNode
  nodes.push(node)
  return node
}

/** Real sealed records, one of each format (DISCOVER does not check whose they are, so registrations share them) */
async function records (): Promise<Record<PeerRecordFormat, Uint8Array>> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
  return { standard: await sealPeerRecord(key, peerId, addrs, 1n), legacy: await sealPeerRecord(key, peerId, addrs, 1n, 'legacy') }
}

/** Fills `crowded` with STANDARD standard registrations and LEGACY legacy ones among them, through the store */
async function fill (store: RegistrationStore): Promise<void> {
  const now = Date.now()
  const limits = { maxRegistrationsPerPeer: 10, maxRegistrationsTotal: 1_000_000 }
  const legacyEvery = Math.floor(STANDARD / LEGACY)
  const sealed = await records()

  for (let i = 0; i < STANDARD + LEGACY; i++) {
    const format = i % (legacyEvery + 1) === legacyEvery ? 'legacy' : 'standard'
    const outcome = await store.register({ peerId: `peer-${i}`, namespace: 'crowded', signedPeerRecord: sealed[format], format, recordSeq: 1n, expiresAt: now + LONG }, limits, now)
    expect(outcome.ok).to.be.true()
  }
}

function formatsOf (page: Message.DiscoverResponse): Array<PeerRecordFormat | undefined> {
  return page.registrations.map(r => peerRecordFormatOf(r.signedPeerRecord ?? new Uint8Array()))
}

describe('server: DISCOVER for a reader of legacy records only, in a crowded namespace', function () {
  this.timeout(60_000)

  const nodes = new TestNodes()
  const others: ClientNode[] = []

  afterEach(async () => {
    await Promise.all(others.splice(0).map(async node => node.stop()))
    await nodes.stopAll()
  })

  async function crowdedPoint (): Promise<{ point: ServerNode, counted: Reads }> {
    const store = counting(new MemoryRegistrationStore())
    await fill(store)
    const point = await nodes.server({ store })
    return { point, counted: store.counted }
  }

  it('reads only the legacy registrations for a peer that registered a legacy record: one store read, the page alone', async () => {
    const { point, counted } = await crowdedPoint()
    const rust = await nodes.client()
    const legacyRecord = await sealPeerRecord((rust as any).components.privateKey, rust.peerId, rust.getMultiaddrs(), undefined, 'legacy') as Uint8Array<ArrayBuffer>
    expect((await register(rust, point, 'own', { signedPeerRecord: legacyRecord })).status).to.equal(ResponseStatus.OK)
    counted.reads = counted.rows = 0

    const page = await discover(rust, point, { ns: 'crowded' })
    expect(page.status).to.equal(ResponseStatus.OK)
    expect(formatsOf(page)).to.deep.equal(Array(LEGACY).fill('legacy'))
    expect(counted).to.deep.equal({ reads: 1, rows: LEGACY })

    // and the cookie goes on from there at the same cost: nothing more
    expect((await discover(rust, point, { ns: 'crowded', cookie: page.cookie })).registrations).to.be.empty()
    expect(counted).to.deep.equal({ reads: 2, rows: LEGACY })
  })

  it('reads only the legacy registrations for a requester identify named rust-libp2p, in one namespace and in all of them', async () => {
    const { point, counted } = await crowdedPoint()
    const rust = await rustAgent(others)
    await rust.dial(point.getMultiaddrs())
    const requesters = (point.services.rendezvous as any).requesters
    await pWaitFor(() => requesters.known(rust.peerId) === true, { timeout: 10_000 })
    counted.reads = counted.rows = 0

    expect(formatsOf(await discover(rust, point, { ns: 'crowded' }))).to.deep.equal(Array(LEGACY).fill('legacy'))
    expect(formatsOf(await discover(rust, point, {}))).to.deep.equal(Array(LEGACY).fill('legacy'))
    expect(counted).to.deep.equal({ reads: 2, rows: 2 * LEGACY })
  })

  it('reads at most one page of every format, then the legacy ones, when the requester is not known yet', async () => {
    const { point, counted } = await crowdedPoint()
    const rust = await rustAgent(others)
    counted.reads = counted.rows = 0

    // its first DISCOVER races its identify: if the page holds a standard record, the point asks (and may wait)
    const page = await discover(rust, point, { ns: 'crowded', limit: 100n })
    expect(formatsOf(page)).to.deep.equal(Array(LEGACY).fill('legacy'))
    expect(counted.reads).to.be.at.most(2)
    expect(counted.rows).to.be.at.most(100 + LEGACY)
  })
})

describe('PostgreSQL: DISCOVER for a reader of legacy records only, in a crowded namespace', function () {
  this.timeout(60_000)

  const schema = uniqueSchema('legacy_reads')
  let store: PostgresRegistrationStore

  before(async function () {
    skipWithoutPostgres(this, 'PostgreSQL: DISCOVER for a reader of legacy records only')
    store = new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema })
    await store.start()
    const now = Date.now()
    const sealed = await records()
    // in bulk: STANDARD standard rows, and the legacy ones spread among them
    await withDatabase(async sql => sql.begin(async tx => {
      await tx`SET LOCAL search_path = ${tx(schema)}`
      await tx`
        INSERT INTO rendezvous_registrations (peer_id, namespace, signed_peer_record, legacy, record_seq, expires_at, xid, seq)
        SELECT 'peer-' || i, 'crowded', CASE WHEN legacy THEN ${sealed.legacy}::bytea ELSE ${sealed.standard}::bytea END, legacy,
          1, ${now + LONG}::bigint, 0, nextval('rendezvous_registration_seq')
        FROM generate_series(1, ${STANDARD + LEGACY}) AS i, LATERAL (SELECT i % ${Math.floor(STANDARD / LEGACY) + 1} = 0 AS legacy) AS format`
      await tx`ANALYZE rendezvous_registrations`
    }))
  })

  after(async () => {
    await store?.stop()
    if (POSTGRES_URL != null) {
      await dropSchema(schema)
    }
  })

  /** Rows the plan of the store's statement read from the table and its indexes, and how many it returned */
  async function rowsTouched (legacyOnly: boolean, namespace?: string): Promise<{ touched: number, returned: number }> {
    const sql = postgres(POSTGRES_URL ?? '', { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    try {
      const { text, params } = discoverQuery({ namespace, after: ['0', '0'], now: Date.now(), limit: 1000, legacyOnly })
      const [{ 'QUERY PLAN': [plan] }] = await sql.unsafe<Array<{ 'QUERY PLAN': any[] }>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params)
      let touched = 0
      const walk = (node: any): void => {
        if (/Scan/.test(node['Node Type']) && node['Relation Name'] === 'rendezvous_registrations') {
          touched += (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * node['Actual Loops']
        }
        for (const child of node.Plans ?? []) {
          walk(child)
        }
      }
      walk(plan.Plan)
      return { touched, returned: plan.Plan['Actual Rows'] }
    } finally {
      await sql.end({ timeout: 1 })
    }
  }

  it('touches only the legacy rows: one range scan of their index, in one namespace and in all of them', async () => {
    expect(await rowsTouched(true, 'crowded')).to.deep.equal({ touched: LEGACY, returned: LEGACY })
    expect(await rowsTouched(true)).to.deep.equal({ touched: LEGACY, returned: LEGACY })
    // a reader of both formats reads its page, and no more
    expect(await rowsTouched(false, 'crowded')).to.deep.equal({ touched: 1000, returned: 1000 })
  })

  it('makes one store read of the legacy rows for such a requester, through the server', async () => {
    const counted = counting(store).counted
    const nodes = new TestNodes()
    try {
      const point = await nodes.server({ store })
      const rust = await nodes.client()
      const legacyRecord = await sealPeerRecord((rust as any).components.privateKey, rust.peerId, rust.getMultiaddrs(), undefined, 'legacy') as Uint8Array<ArrayBuffer>
      expect((await register(rust, point, 'own', { signedPeerRecord: legacyRecord })).status).to.equal(ResponseStatus.OK)
      counted.reads = counted.rows = 0

      expect(formatsOf(await discover(rust, point, { ns: 'crowded' }))).to.deep.equal(Array(LEGACY).fill('legacy'))
      expect(counted).to.deep.equal({ reads: 1, rows: LEGACY })
    } finally {
      // the server stops the store it was given: start it again for the next test
      await nodes.stopAll()
      await store.start()
    }
  })
})
