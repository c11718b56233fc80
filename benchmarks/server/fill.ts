/**
 * Filling a store directly through its API (not the wire), or a PostgreSQL schema in bulk with SQL: the
 * registrations a server of that size would hold.
 * A `target` namespace holds `targetSize` registrations, the rest are spread over `namespaces` others, so a
 * DISCOVER of the target asks for the same page whatever the store's size: flat latency is the goal.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import postgres from 'postgres'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import type { RegistrationStore } from '../../src/server/store/registration-store.ts'

export const TARGET_NAMESPACE = 'bench/target'
export const TARGET_SIZE = 100

export interface FillInit {
  count: number
  /** Namespaces the non-target registrations are spread over. Default 1000 */
  namespaces?: number
  /** Registrations written at once (a database store gains from a few in flight). Default 1 */
  concurrency?: number
  /** Addresses in the one record every registration carries (~10 bytes each). Default 1 (a record of ~150 bytes) */
  recordAddresses?: number
}

export interface FillResult {
  count: number
  ms: number
  /** Registrations written per second */
  perSecond: number
}

/** A peer-id-like string for registration `i`: the store keys on it, no one dials it */
function fakePeerId (i: number): string {
  return `12D3KooWBench${i.toString(36).padStart(40, '0')}`
}

/** One real envelope (~150 bytes with one address) that every filled registration carries a copy of */
export async function sampleEnvelope (addresses = 1): Promise<Uint8Array> {
  const key = await generateKeyPair('Ed25519')
  return sealPeerRecord(key, peerIdFromPrivateKey(key), Array.from({ length: addresses }, (_, i) => multiaddr(`/ip4/127.0.0.1/tcp/${4001 + i}`)))
}

export async function fillStore (store: RegistrationStore, init: FillInit): Promise<FillResult> {
  const envelope = await sampleEnvelope(init.recordAddresses)
  const namespaces = init.namespaces ?? 1000
  const concurrency = init.concurrency ?? 1
  const limits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: Number.MAX_SAFE_INTEGER }
  const expiresAt = Date.now() + 24 * 60 * 60 * 1000
  const started = performance.now()
  let next = 0

  const worker = async (): Promise<void> => {
    while (next < init.count) {
      const i = next++
      const outcome = await store.register({
        peerId: fakePeerId(i),
        namespace: i < TARGET_SIZE ? TARGET_NAMESPACE : `bench/ns-${i % namespaces}`,
        // a copy each, so that memory per registration counts the record as a real server holds it
        signedPeerRecord: envelope.slice(),
        recordSeq: 1n,
        expiresAt
      }, limits, Date.now())
      if (!outcome.ok) {
        throw new Error(`fill: registration ${i} refused: ${outcome.reason}`)
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker))
  const ms = performance.now() - started
  return { count: init.count, ms, perSecond: init.count / (ms / 1000) }
}

/** Rows per transaction of the SQL fill: short transactions, so that other users of the database are not held back */
const SQL_BATCH = 50_000

/**
 * Writes `count` registrations straight into the PostgreSQL store's tables of `schema` (already created by a store's
 * start), as fillStore would but in bulk: a million rows take about a minute rather than hours through REGISTER.
 * Works on every schema version: rows written this way keep the default transaction id (0) where there is one, and
 * are counted as the schema counts rows.
 */
export async function fillSql (url: string, schema: string, init: FillInit): Promise<FillResult> {
  const envelope = await sampleEnvelope()
  const namespaces = init.namespaces ?? 1000
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema } })
  const started = performance.now()

  try {
    const [{ sharded }] = await sql<Array<{ sharded: boolean }>>`SELECT to_regclass('rendezvous_row_counts') IS NOT NULL AS sharded`
    const expiresAt = Date.now() + 24 * 60 * 60 * 1000

    for (let from = 0; from < init.count; from += SQL_BATCH) {
      const to = Math.min(init.count, from + SQL_BATCH) - 1
      await sql.begin(async tx => {
        await tx`
          INSERT INTO rendezvous_registrations (peer_id, namespace, signed_peer_record, record_seq, expires_at, seq)
          SELECT '12D3KooWBench' || lpad(i::text, 40, '0'),
            CASE WHEN i < ${TARGET_SIZE} THEN ${TARGET_NAMESPACE} ELSE 'bench/ns-' || (i % ${namespaces}) END,
            ${envelope}, 1, ${expiresAt}::bigint, nextval('rendezvous_registration_seq')
          FROM generate_series(${from}::int, ${to}::int) AS i`
        // version 1 counts inserted rows with a trigger; version 2 counts them in rendezvous_register only
        if (sharded) {
          await tx`UPDATE rendezvous_row_counts SET value = value + ${to - from + 1} WHERE shard = 0`
        }
      })
    }

    await sql`ANALYZE rendezvous_registrations`
  } finally {
    await sql.end({ timeout: 5 })
  }

  const ms = performance.now() - started
  return { count: init.count, ms, perSecond: init.count / (ms / 1000) }
}
