import { generateKeyPair } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import postgres from 'postgres'
import { sealPeerRecord } from '../../../src/protocol/peer-record.ts'
import { migrate, MIGRATIONS, SCHEMA_VERSION } from '../../../src/server/store/postgres-schema.ts'
import { PostgresRegistrationStore } from '../../../src/server/store/postgres-store.ts'
import { storeContractTests } from './contract.ts'
import { dropSchema, emptySchema, POSTGRES_URL, skipWithoutPostgres, TestStores, uniqueSchema, withDatabase } from './postgres-test-database.ts'
import type { RegisterLimits, RegistrationStore } from '../../../src/server/store/registration-store.ts'

const ROOMY: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: 1_000_000 }
const LONG = 60 * 60 * 1000

function record (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

describe('PostgresRegistrationStore on PostgreSQL', function () {
  // the first connection and the migration take a moment on a shared 2-core machine
  this.timeout(30_000)

  const schema = uniqueSchema('contract')

  before(async function () {
    skipWithoutPostgres(this, 'PostgresRegistrationStore on PostgreSQL')
    // create the schema once; each test then starts from empty tables
    const store = new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema })
    await store.start()
    await store.stop()
  })

  after(async () => {
    if (POSTGRES_URL != null) {
      await dropSchema(schema)
    }
  })

  storeContractTests('PostgresRegistrationStore', {
    create: async () => {
      await emptySchema(schema)
      const store = new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema })
      await store.start()
      return store
    },
    destroy: async (store: RegistrationStore) => {
      await store.stop?.()
    }
  })
})

describe('PostgresRegistrationStore', function () {
  this.timeout(30_000)

  const stores = new TestStores()

  before(function () {
    skipWithoutPostgres(this, 'PostgresRegistrationStore')
  })

  afterEach(async () => {
    await stores.cleanup()
  })

  /** A started store on a schema of its own (or on the given one, to make a fleet) */
  async function started (schema?: string): Promise<PostgresRegistrationStore> {
    return stores.start(schema)
  }

  it('creates its schema on first start and records the schema version', async () => {
    const store = await started()

    const version = await withDatabase(async sql => sql`SELECT version FROM ${sql(store.schema)}.rendezvous_schema_version`)
    expect(version).to.deep.equal([{ version: SCHEMA_VERSION }])
    expect(SCHEMA_VERSION).to.equal(MIGRATIONS.length)
  })

  it('lets several servers start at once on a new schema, migrating it once', async () => {
    const schema = uniqueSchema('race')
    const fleet = await Promise.all([1, 2, 3, 4].map(async () => started(schema)))

    const secrets = await Promise.all(fleet.map(async store => store.getCookieSecret()))
    for (const secret of secrets) {
      expect(secret).to.equalBytes(secrets[0])
    }

    const [rows] = await withDatabase(async sql => sql`SELECT count(*)::int AS n FROM ${sql(schema)}.rendezvous_schema_version`)
    expect(rows.n).to.equal(1)
  })

  it('keeps registrations and the cookie secret across a restart', async () => {
    const schema = uniqueSchema('restart')
    const first = await started(schema)
    const secret = await first.getCookieSecret()
    const outcome = await first.register({ peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record('a'), recordSeq: 1n, expiresAt: Date.now() + LONG }, ROOMY, Date.now())
    await first.stop()

    const second = await started(schema)
    expect(await second.getCookieSecret()).to.equalBytes(secret)
    const page = await second.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now: Date.now() })
    expect(page.registrations.map(r => r.seq)).to.deep.equal([outcome.ok ? outcome.seq : -1n])

    // the sequence carries on above what the first server gave out
    const next = await second.register({ peerId: 'peer-b', namespace: 'ns', signedPeerRecord: record('b'), recordSeq: 1n, expiresAt: Date.now() + LONG }, ROOMY, Date.now())
    expect(next.ok && outcome.ok && next.seq > outcome.seq).to.be.true()
  })

  it('refuses to start on a schema a newer release migrated, saying so', async () => {
    const store = await started()
    await store.stop()
    await withDatabase(async sql => sql`UPDATE ${sql(store.schema)}.rendezvous_schema_version SET version = ${SCHEMA_VERSION + 1}`)

    const again = new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema: store.schema })
    await expect(again.start()).to.eventually.be.rejectedWith(`version ${SCHEMA_VERSION + 1} but this server knows versions up to ${SCHEMA_VERSION}`)
  })

  it('migrates a version 1 schema holding registrations: they keep their positions and their count, so old cookies continue', async () => {
    const schema = uniqueSchema('upgrade')
    const now = Date.now()
    const old = postgres(POSTGRES_URL ?? '', { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    const oldSeqs: bigint[] = []
    try {
      await migrate(old, schema, logger('test:migrate'), MIGRATIONS.slice(0, 1))
      for (const peer of ['peer-a', 'peer-b', 'peer-c']) {
        // what a server of the previous release ran for each REGISTER
        const [row] = await old<Array<{ outcome: string, assigned_seq: string }>>`
          SELECT outcome, assigned_seq FROM rendezvous_register(${peer}, 'ns', '\\x01'::bytea, 1, ${now + LONG}::bigint, 1000, 1000000, ${now}::bigint, ${peer}, 'seq')`
        expect(row.outcome).to.equal('ok')
        oldSeqs.push(BigInt(row.assigned_seq))
      }
    } finally {
      await old.end({ timeout: 1 })
    }

    const store = await started(schema)
    const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now })
    expect(page.registrations.map(r => r.seq)).to.deep.equal(oldSeqs)
    expect(await store.stats(now)).to.deep.equal({ registrations: 3, namespaces: 1 })

    const added = await store.register({ peerId: 'peer-d', namespace: 'ns', signedPeerRecord: record('d'), recordSeq: 1n, expiresAt: now + LONG }, ROOMY, now)
    expect(added.ok && added.seq > oldSeqs[2]).to.be.true()
    // a version 1 cookie carries an old seq: it continues right after the registration it was issued at
    const after = await store.discover({ namespace: 'ns', afterSeq: oldSeqs[1], limit: 10, now })
    expect(after.registrations.map(r => r.peerId)).to.deep.equal(['peer-c', 'peer-d'])
    expect(await store.stats(now)).to.deep.equal({ registrations: 4, namespaces: 1 })
  })

  it('migrates a version 2 schema: the legacy records among its rows are found, and a server of that release still writes right', async () => {
    const schema = uniqueSchema('formats')
    const now = Date.now()
    // real envelopes, with an Ed25519 key and an RSA one (a longer key: a two-byte length before the payload type)
    const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('RSA', 1024)]
    const sealed = await Promise.all(keys.flatMap(key => (['standard', 'legacy'] as const).map(async format =>
      ({ format, bytes: await sealPeerRecord(key, peerIdFromPrivateKey(key), [multiaddr('/ip4/127.0.0.1/tcp/4001')], 1n, format) }))))
    const old = postgres(POSTGRES_URL ?? '', { max: 1, onnotice: () => {}, connection: { search_path: schema } })
    /** What a server of the release with schema version 2 ran for each REGISTER */
    const registerAsBefore = async (peer: string, bytes: Uint8Array): Promise<void> => {
      const [row] = await old<Array<{ outcome: string }>>`
        SELECT outcome FROM rendezvous_register(${peer}, 'ns', ${bytes}, 1, ${now + LONG}::bigint, 1000, 1000000, ${now}::bigint, ${peer}, 'total', 0, false)`
      expect(row.outcome).to.equal('ok')
    }

    try {
      await migrate(old, schema, logger('test:migrate'), MIGRATIONS.slice(0, 2))
      for (const [i, { bytes }] of sealed.entries()) {
        await registerAsBefore(`before-${i}`, bytes)
      }
      // bytes that are no envelope at all, and one that holds the legacy payload type only inside its payload
      await registerAsBefore('junk', record('/libp2p/routing-state-record'))

      const store = await started(schema)
      const page = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 10, now })
      expect(page.registrations.map(r => `${r.peerId} ${r.format}`)).to.deep.equal([
        ...sealed.map(({ format }, i) => `before-${i} ${format}`), 'junk standard'
      ])

      // a server of the previous release, still running beside the upgraded ones, calls the version 2 function
      for (const [i, { bytes }] of sealed.entries()) {
        await registerAsBefore(`during-${i}`, bytes)
      }
      const legacy = await store.discover({ namespace: 'ns', afterSeq: 0n, limit: 20, now, legacyOnly: true })
      expect(legacy.registrations.map(r => r.peerId)).to.deep.equal(['before-1', 'before-3', 'during-1', 'during-3'])
    } finally {
      await old.end({ timeout: 1 })
    }
  })

  it('rejects start with the connection error when the database is unreachable', async () => {
    // port 1 on loopback: nothing listens there, so the refusal is immediate
    const store = new PostgresRegistrationStore({ url: 'postgres://nobody:nothing@127.0.0.1:1/none', connectTimeout: 2 })
    await expect(store.start()).to.eventually.be.rejected.with.property('code', 'ECONNREFUSED')
    await expect(store.discover({ afterSeq: 0n, limit: 1, now: 0 })).to.eventually.be.rejectedWith(/not started/)
  })

  it('refuses a bad schema name and a missing url when constructed', () => {
    expect(() => new PostgresRegistrationStore({ url: POSTGRES_URL ?? '', schema: 'x; DROP TABLE y' })).to.throw(/plain identifier/)
    expect(() => new PostgresRegistrationStore({ url: '' })).to.throw(/connection URL/)
  })

  it('refuses malformed registrations with an error naming the field, and stores nothing', async () => {
    const store = await started()
    const good = { peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record('a'), recordSeq: 1n, expiresAt: Date.now() + LONG }

    await expect(store.register({ ...good, peerId: '' }, ROOMY, Date.now())).to.eventually.be.rejectedWith(/peerId/)
    await expect(store.register({ ...good, namespace: '' }, ROOMY, Date.now())).to.eventually.be.rejectedWith(/namespace/)
    await expect(store.register({ ...good, recordSeq: 1n << 64n }, ROOMY, Date.now())).to.eventually.be.rejectedWith(/recordSeq/)
    await expect(store.register({ ...good, expiresAt: NaN }, ROOMY, Date.now())).to.eventually.be.rejectedWith(/expiresAt/)
    // @ts-expect-error a record that is not bytes
    await expect(store.register({ ...good, signedPeerRecord: 'a' }, ROOMY, Date.now())).to.eventually.be.rejectedWith(/signedPeerRecord/)
    expect(await store.stats(Date.now())).to.deep.equal({ registrations: 0, namespaces: 0 })
  })

  it('stores the largest uint64 record seq and compares record seqs numerically', async () => {
    const store = await started()
    const now = Date.now()
    const input = { peerId: 'peer-a', namespace: 'ns', signedPeerRecord: record('a'), expiresAt: now + LONG }

    expect((await store.register({ ...input, recordSeq: 9n }, ROOMY, now)).ok).to.be.true()
    // as text, "10" sorts below "9"
    expect((await store.register({ ...input, recordSeq: 10n }, ROOMY, now)).ok).to.be.true()
    expect((await store.register({ ...input, recordSeq: 0xffff_ffff_ffff_ffffn }, ROOMY, now)).ok).to.be.true()
    expect(await store.register({ ...input, recordSeq: 0xffff_ffff_ffff_fffen }, ROOMY, now)).to.deep.equal({ ok: false, reason: 'stale-record' })

    const page = await store.discover({ afterSeq: 0n, limit: 10, now })
    expect(page.registrations[0].recordSeq).to.equal(0xffff_ffff_ffff_ffffn)
  })

  it('counts namespaces by their live registrations only, with many namespaces', async () => {
    const store = await started()
    const now = Date.now()

    for (let i = 0; i < 50; i++) {
      await store.register({ peerId: `peer-${i}`, namespace: `ns-${i % 10}`, signedPeerRecord: record(`${i}`), recordSeq: 1n, expiresAt: now + (i < 20 ? 10 : LONG) }, ROOMY, now)
    }

    expect(await store.stats(now)).to.deep.equal({ registrations: 50, namespaces: 10 })
    // peers 0..19 expire at now + 10: namespaces ns-0..ns-9 keep peers 20..49
    expect(await store.stats(now + 10)).to.deep.equal({ registrations: 30, namespaces: 10 })
    expect(await store.removeExpired(now + 10)).to.equal(20)
    expect(await store.stats(now + 10)).to.deep.equal({ registrations: 30, namespaces: 10 })
  })

  it('sweeps in batches and splits the work between concurrent sweepers', async () => {
    const schema = uniqueSchema('sweep')
    const first = await started(schema)
    await first.stop()
    const sweepers = await Promise.all([1, 2, 3].map(async () => stores.start(schema, { sweepBatchSize: 7 })))
    const now = Date.now()

    // rows written other than by rendezvous_register are counted by hand, and expire on the database's clock
    await withDatabase(async sql => sql.begin(async tx => {
      await tx`
        INSERT INTO ${tx(schema)}.rendezvous_registrations (peer_id, namespace, signed_peer_record, record_seq, expires_at, seq)
        SELECT 'peer-' || i, 'ns', '\\x01'::bytea, 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint + 60000 + (i % 2),
          nextval(${`${schema}.rendezvous_registration_seq`}::regclass)
        FROM generate_series(1, 200) AS i`
      await tx`UPDATE ${tx(schema)}.rendezvous_row_counts SET value = value + 200 WHERE shard = 0`
    }))
    expect(await sweepers[0].stats(now)).to.deep.equal({ registrations: 200, namespaces: 1 })

    const counts = await Promise.all(sweepers.map(async store => store.removeExpired(now + 120_000)))
    expect(counts.reduce((x, y) => x + y, 0)).to.equal(200)
    expect(await sweepers[0].stats(now)).to.deep.equal({ registrations: 0, namespaces: 0 })
  })
})
