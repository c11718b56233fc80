/**
 * The PostgreSQL store's schema, as an ordered list of migrations, and the code that brings a database up to date.
 *
 * Every server of a fleet runs {@link migrate} on start. A transaction-level advisory lock makes the servers take
 * turns, so two servers starting at once never run a migration twice, and a server that finds the database at a
 * version newer than it knows refuses to start rather than write rows an older schema does not expect.
 *
 * A migration is never edited once released: a change is a new entry at the end of {@link MIGRATIONS}.
 */
import type { Logger } from '@libp2p/interface'
import type { Sql } from 'postgres'

export interface Migration {
  /** Schema version after this migration; versions are 1, 2, 3… in order */
  version: number
  /** What the migration does, for the log */
  description: string
  /** Statements run one after another in the migration's transaction */
  statements: string[]
}

export const MIGRATIONS: Migration[] = [{
  version: 1,
  description: 'registrations, their sequence and row counter, the fleet secret',
  statements: [
    // `seq` ordered every accepted REGISTER across the fleet, taken under a fleet-wide advisory lock so that values
    // committed in order; version 2 orders rows by (xid, seq) instead, without that lock.
    'CREATE SEQUENCE rendezvous_registration_seq AS bigint MINVALUE 1',
    `CREATE TABLE rendezvous_registrations (
      peer_id text NOT NULL,
      namespace text NOT NULL,
      signed_peer_record bytea NOT NULL,
      -- a peer record's seq is a uint64, which does not fit PostgreSQL's signed bigint
      record_seq numeric(20, 0) NOT NULL,
      -- milliseconds since the epoch, as the store interface counts them (the caller says what "now" is)
      expires_at bigint NOT NULL,
      seq bigint NOT NULL,
      PRIMARY KEY (peer_id, namespace)
    )`,
    // DISCOVER over all namespaces walks this index from the cookie's position
    'CREATE UNIQUE INDEX rendezvous_registrations_seq ON rendezvous_registrations (seq)',
    // DISCOVER in one namespace: O(log n + limit)
    'CREATE INDEX rendezvous_registrations_namespace_seq ON rendezvous_registrations (namespace, seq)',
    // the expiry sweep and the count of expired rows in stats()
    'CREATE INDEX rendezvous_registrations_expires_at ON rendezvous_registrations (expires_at)',

    // The number of rows (live or expired but not yet swept), kept exact by statement-level triggers, so the
    // total limit is checked without counting the table (one row, replaced by shards in version 2).
    `CREATE TABLE rendezvous_counters (
      name text PRIMARY KEY,
      value bigint NOT NULL
    )`,
    "INSERT INTO rendezvous_counters (name, value) VALUES ('registrations', 0)",
    `CREATE FUNCTION rendezvous_count_inserted_rows () RETURNS trigger LANGUAGE plpgsql
      SET search_path FROM CURRENT AS $$
    DECLARE
      n bigint;
    BEGIN
      SELECT count(*) INTO n FROM inserted_rows;
      -- an upsert that only replaced a row inserts nothing: leave the counter row alone (and unlocked)
      IF n > 0 THEN
        UPDATE rendezvous_counters SET value = value + n WHERE name = 'registrations';
      END IF;
      RETURN NULL;
    END
    $$`,
    `CREATE FUNCTION rendezvous_count_deleted_rows () RETURNS trigger LANGUAGE plpgsql
      SET search_path FROM CURRENT AS $$
    DECLARE
      n bigint;
    BEGIN
      SELECT count(*) INTO n FROM deleted_rows;
      IF n > 0 THEN
        UPDATE rendezvous_counters SET value = value - n WHERE name = 'registrations';
      END IF;
      RETURN NULL;
    END
    $$`,
    `CREATE TRIGGER rendezvous_registrations_inserted AFTER INSERT ON rendezvous_registrations
      REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION rendezvous_count_inserted_rows()`,
    `CREATE TRIGGER rendezvous_registrations_deleted AFTER DELETE ON rendezvous_registrations
      REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION rendezvous_count_deleted_rows()`,

    // REGISTER in one round trip under the fleet-wide "seq" lock (replaced by version 2)
    `CREATE FUNCTION rendezvous_register (
      p_peer_id text, p_namespace text, p_record bytea, p_record_seq numeric, p_expires_at bigint,
      p_max_per_peer bigint, p_max_total bigint, p_now bigint, p_peer_lock text, p_seq_lock text
    ) RETURNS TABLE (outcome text, assigned_seq bigint) LANGUAGE plpgsql VOLATILE
      SET search_path FROM CURRENT AS $$
    DECLARE
      v_others bigint;
      v_live_record_seq numeric;
      v_existing boolean;
      v_rows bigint;
      v_seq bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended(p_peer_lock, 0));

      SELECT
        count(*) FILTER (WHERE r.namespace <> p_namespace AND r.expires_at > p_now),
        max(r.record_seq) FILTER (WHERE r.namespace = p_namespace AND r.expires_at > p_now),
        coalesce(bool_or(r.namespace = p_namespace), false)
      INTO v_others, v_live_record_seq, v_existing
      FROM rendezvous_registrations r
      WHERE r.peer_id = p_peer_id;

      IF v_live_record_seq IS NOT NULL AND v_live_record_seq > p_record_seq THEN
        RETURN QUERY SELECT 'stale-record'::text, NULL::bigint;
        RETURN;
      END IF;

      IF v_others >= p_max_per_peer THEN
        RETURN QUERY SELECT 'peer-limit'::text, NULL::bigint;
        RETURN;
      END IF;

      PERFORM pg_advisory_xact_lock(hashtextextended(p_seq_lock, 0));

      -- replacing a row never grows the table, so only a new row needs a free place
      IF NOT v_existing THEN
        SELECT c.value INTO v_rows FROM rendezvous_counters c WHERE c.name = 'registrations';
        IF v_rows >= p_max_total THEN
          RETURN QUERY SELECT 'counter-full'::text, NULL::bigint;
          RETURN;
        END IF;
      END IF;

      INSERT INTO rendezvous_registrations AS r (peer_id, namespace, signed_peer_record, record_seq, expires_at, seq)
      VALUES (p_peer_id, p_namespace, p_record, p_record_seq, p_expires_at, nextval('rendezvous_registration_seq'))
      ON CONFLICT (peer_id, namespace) DO UPDATE SET
        signed_peer_record = excluded.signed_peer_record,
        record_seq = excluded.record_seq,
        expires_at = excluded.expires_at,
        seq = excluded.seq
      RETURNING r.seq INTO v_seq;

      RETURN QUERY SELECT 'ok'::text, v_seq;
    END
    $$`,

    // Secrets the fleet shares (the cookie MAC key). The first server to start creates it; the rest read it.
    `CREATE TABLE rendezvous_secrets (
      name text PRIMARY KEY,
      value bytea NOT NULL
    )`
  ]
}, {
  version: 2,
  description: 'rows ordered by (transaction id, sequence) without the fleet-wide lock; row counter in 64 shards',
  statements: [
    // A row's position is (xid, seq): the id of the transaction that wrote it, then a sequence value to order the
    // rows of one transaction. Readers never pass the oldest transaction still running (see postgres-store.ts), so
    // writers need no lock to commit in order. Rows written before keep xid 0: their positions are their old seq,
    // below every new one, and a version 1 cookie (which carries an old seq) continues where it was.
    'ALTER TABLE rendezvous_registrations ADD COLUMN xid bigint NOT NULL DEFAULT 0',
    'DROP INDEX rendezvous_registrations_seq',
    'DROP INDEX rendezvous_registrations_namespace_seq',
    'CREATE UNIQUE INDEX rendezvous_registrations_position ON rendezvous_registrations (xid, seq)',
    'CREATE INDEX rendezvous_registrations_namespace_position ON rendezvous_registrations (namespace, xid, seq)',
    // each connection takes values 32 at a time: no shared state between writers, and seq only orders one
    // transaction's rows
    'ALTER SEQUENCE rendezvous_registration_seq CACHE 32',

    // The row count in shards, so that writers do not queue on one counter row. A REGISTER that adds a row counts
    // it in a shard no other writer holds (SKIP LOCKED), then reads the sum; see rendezvous_register for why the
    // total limit still holds exactly. Deletes are counted by the trigger below, in a free shard too.
    `CREATE TABLE rendezvous_row_counts (
      shard integer PRIMARY KEY,
      value bigint NOT NULL
    )`,
    'INSERT INTO rendezvous_row_counts (shard, value) SELECT shard, 0 FROM generate_series(0, 63) AS shard',
    "UPDATE rendezvous_row_counts SET value = (SELECT value FROM rendezvous_counters WHERE name = 'registrations') WHERE shard = 0",
    // rows are counted by rendezvous_register itself, before it decides whether there is room
    'DROP TRIGGER rendezvous_registrations_inserted ON rendezvous_registrations',
    'DROP FUNCTION rendezvous_count_inserted_rows()',
    `CREATE OR REPLACE FUNCTION rendezvous_count_deleted_rows () RETURNS trigger LANGUAGE plpgsql
      SET search_path FROM CURRENT AS $$
    DECLARE
      n bigint;
      v_shard integer;
    BEGIN
      SELECT count(*) INTO n FROM deleted_rows;
      IF n > 0 THEN
        SELECT c.shard INTO v_shard FROM rendezvous_row_counts c ORDER BY c.shard LIMIT 1 FOR UPDATE SKIP LOCKED;
        -- every shard busy: wait for the first one rather than lose the count
        UPDATE rendezvous_row_counts SET value = value - n WHERE shard = coalesce(v_shard, 0);
      END IF;
      RETURN NULL;
    END
    $$`,
    'DROP TABLE rendezvous_counters',

    // Dropped rather than replaced, so that a server of an older release still running on this schema fails its
    // REGISTERs loudly instead of writing rows at positions the new order does not expect.
    'DROP FUNCTION rendezvous_register(text, text, bytea, numeric, bigint, bigint, bigint, bigint, text, text)',

    // REGISTER in one round trip, under no lock shared by the fleet:
    // 1. the peer's advisory lock: its registrations change one at a time, so the per-peer count and the
    //    stale-record check read a state nobody else is changing;
    // 2. a new row is counted before it is written. Fast path: add 1 to a shard no other writer holds, then read
    //    the sum. Each shard holds at most one uncommitted count (its row lock is held to commit), so at most
    //    (shards - 1) counts are invisible to this writer; if the sum plus those still fits the limit, no
    //    interleaving can pass it. Otherwise (near the limit, or every shard busy) the writer counts exactly:
    //    the "total" advisory lock, then every shard locked in order, which waits for the counts in flight. A
    //    writer that took a shard on the fast path must not wait for the others while holding it (two of them
    //    would deadlock), so it gives up with SQLSTATE RZ001 and the store calls again with p_exact;
    // 3. the row is written at (this transaction's id, the next seq) and the transaction commits.
    // Each statement of a VOLATILE function takes a fresh snapshot, so what is read after a lock is taken includes
    // everything committed before it was granted.
    `CREATE FUNCTION rendezvous_register (
      p_peer_id text, p_namespace text, p_record bytea, p_record_seq numeric, p_expires_at bigint,
      p_max_per_peer bigint, p_max_total bigint, p_now bigint, p_peer_lock text, p_total_lock text,
      p_first_shard integer, p_exact boolean
    ) RETURNS TABLE (outcome text, position_xid bigint, position_seq bigint) LANGUAGE plpgsql VOLATILE
      SET search_path FROM CURRENT AS $$
    DECLARE
      v_others bigint;
      v_live_record_seq numeric;
      v_existing boolean;
      v_shard integer;
      v_shards bigint;
      v_rows bigint;
      v_xid bigint;
      v_seq bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended(p_peer_lock, 0));

      SELECT
        count(*) FILTER (WHERE r.namespace <> p_namespace AND r.expires_at > p_now),
        max(r.record_seq) FILTER (WHERE r.namespace = p_namespace AND r.expires_at > p_now),
        coalesce(bool_or(r.namespace = p_namespace), false)
      INTO v_others, v_live_record_seq, v_existing
      FROM rendezvous_registrations r
      WHERE r.peer_id = p_peer_id;

      IF v_live_record_seq IS NOT NULL AND v_live_record_seq > p_record_seq THEN
        RETURN QUERY SELECT 'stale-record'::text, NULL::bigint, NULL::bigint;
        RETURN;
      END IF;

      IF v_others >= p_max_per_peer THEN
        RETURN QUERY SELECT 'peer-limit'::text, NULL::bigint, NULL::bigint;
        RETURN;
      END IF;

      -- replacing a row never grows the table, so only a new row needs a free place
      IF NOT v_existing THEN
        IF NOT p_exact THEN
          -- far from the limit even with a count in flight in every shard: the fast path will do
          SELECT sum(c.value), count(*) INTO v_rows, v_shards FROM rendezvous_row_counts c;
          IF v_rows + v_shards <= p_max_total THEN
            SELECT c.shard INTO v_shard FROM rendezvous_row_counts c
            ORDER BY c.shard < p_first_shard, c.shard
            LIMIT 1 FOR UPDATE SKIP LOCKED;
          END IF;
        END IF;

        IF v_shard IS NOT NULL THEN
          UPDATE rendezvous_row_counts SET value = value + 1 WHERE shard = v_shard;
          SELECT sum(c.value), count(*) INTO v_rows, v_shards FROM rendezvous_row_counts c;
          IF v_rows + v_shards - 1 > p_max_total THEN
            RAISE EXCEPTION USING ERRCODE = 'RZ001', MESSAGE = 'near the total limit: count exactly';
          END IF;
        ELSE
          PERFORM pg_advisory_xact_lock(hashtextextended(p_total_lock, 0));
          PERFORM 1 FROM rendezvous_row_counts c ORDER BY c.shard FOR UPDATE;
          SELECT sum(c.value) INTO v_rows FROM rendezvous_row_counts c;
          IF v_rows >= p_max_total THEN
            RETURN QUERY SELECT 'counter-full'::text, NULL::bigint, NULL::bigint;
            RETURN;
          END IF;
          UPDATE rendezvous_row_counts SET value = value + 1 WHERE shard = p_first_shard;
        END IF;
      END IF;

      v_xid := pg_current_xact_id()::text::bigint;

      INSERT INTO rendezvous_registrations AS r (peer_id, namespace, signed_peer_record, record_seq, expires_at, xid, seq)
      VALUES (p_peer_id, p_namespace, p_record, p_record_seq, p_expires_at, v_xid, nextval('rendezvous_registration_seq'))
      ON CONFLICT (peer_id, namespace) DO UPDATE SET
        signed_peer_record = excluded.signed_peer_record,
        record_seq = excluded.record_seq,
        expires_at = excluded.expires_at,
        xid = excluded.xid,
        seq = excluded.seq
      RETURNING r.seq INTO v_seq;

      RETURN QUERY SELECT 'ok'::text, v_xid, v_seq;
    END
    $$`
  ]
}, {
  version: 3,
  description: 'each registration\'s record format, and indexes of the legacy ones, so a rust-libp2p reader reads only those',
  statements: [
    // A rust-libp2p requester reads only legacy records (domain libp2p-routing-state): its DISCOVER reads them alone,
    // through the two partial indexes below, one range scan whatever the number of standard records around them.
    'ALTER TABLE rendezvous_registrations ADD COLUMN legacy boolean NOT NULL DEFAULT false',
    // Whether an envelope's payload type (field 2) is /libp2p/routing-state-record: a walk over its protobuf fields,
    // for the rows written before this version and for REGISTERs of servers of the previous release
    `CREATE FUNCTION rendezvous_is_legacy_record (p_record bytea) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
    DECLARE
      v_len integer := length(p_record);
      v_pos integer := 0;
      v_byte integer;
      v_value bigint;
      v_shift integer;
      v_field bigint;
      v_wire integer;
      v_varint integer;
    BEGIN
      WHILE v_pos < v_len LOOP
        -- the tag, then a varint field's value or a length-delimited field's length
        FOR v_varint IN 1..2 LOOP
          v_value := 0;
          v_shift := 0;
          LOOP
            IF v_pos >= v_len OR v_shift > 56 THEN
              RETURN false;
            END IF;
            v_byte := get_byte(p_record, v_pos);
            v_pos := v_pos + 1;
            v_value := v_value | ((v_byte & 127)::bigint << v_shift);
            v_shift := v_shift + 7;
            EXIT WHEN v_byte < 128;
          END LOOP;
          IF v_varint = 1 THEN
            v_field := v_value >> 3;
            v_wire := (v_value & 7)::integer;
            EXIT WHEN v_wire <> 0 AND v_wire <> 2;
          END IF;
        END LOOP;
        IF v_wire = 0 THEN
          CONTINUE;
        ELSIF v_wire = 1 THEN
          v_pos := v_pos + 8;
        ELSIF v_wire = 5 THEN
          v_pos := v_pos + 4;
        ELSIF v_wire = 2 THEN
          IF v_field = 2 THEN
            RETURN v_value = 28 AND substring(p_record FROM v_pos + 1 FOR 28) = '\\x2f6c69627032702f726f7574696e672d73746174652d7265636f7264'::bytea;
          END IF;
          v_pos := v_pos + v_value;
        ELSE
          RETURN false;
        END IF;
      END LOOP;
      RETURN false;
    END
    $$`,
    // rows whose bytes hold the payload type somewhere are walked; the rest cannot be legacy
    `UPDATE rendezvous_registrations SET legacy = true
      WHERE position('\\x2f6c69627032702f726f7574696e672d73746174652d7265636f7264'::bytea IN signed_peer_record) > 0
        AND rendezvous_is_legacy_record(signed_peer_record)`,
    'CREATE INDEX rendezvous_registrations_legacy_position ON rendezvous_registrations (xid, seq) WHERE legacy',
    'CREATE INDEX rendezvous_registrations_legacy_namespace_position ON rendezvous_registrations (namespace, xid, seq) WHERE legacy',

    // REGISTER as in version 2, with the record's format, which the server found when it checked the record
    `CREATE FUNCTION rendezvous_register (
      p_peer_id text, p_namespace text, p_record bytea, p_record_seq numeric, p_expires_at bigint,
      p_max_per_peer bigint, p_max_total bigint, p_now bigint, p_peer_lock text, p_total_lock text,
      p_first_shard integer, p_exact boolean, p_legacy boolean
    ) RETURNS TABLE (outcome text, position_xid bigint, position_seq bigint) LANGUAGE plpgsql VOLATILE
      SET search_path FROM CURRENT AS $$
    DECLARE
      v_others bigint;
      v_live_record_seq numeric;
      v_existing boolean;
      v_shard integer;
      v_shards bigint;
      v_rows bigint;
      v_xid bigint;
      v_seq bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended(p_peer_lock, 0));

      SELECT
        count(*) FILTER (WHERE r.namespace <> p_namespace AND r.expires_at > p_now),
        max(r.record_seq) FILTER (WHERE r.namespace = p_namespace AND r.expires_at > p_now),
        coalesce(bool_or(r.namespace = p_namespace), false)
      INTO v_others, v_live_record_seq, v_existing
      FROM rendezvous_registrations r
      WHERE r.peer_id = p_peer_id;

      IF v_live_record_seq IS NOT NULL AND v_live_record_seq > p_record_seq THEN
        RETURN QUERY SELECT 'stale-record'::text, NULL::bigint, NULL::bigint;
        RETURN;
      END IF;

      IF v_others >= p_max_per_peer THEN
        RETURN QUERY SELECT 'peer-limit'::text, NULL::bigint, NULL::bigint;
        RETURN;
      END IF;

      IF NOT v_existing THEN
        IF NOT p_exact THEN
          SELECT sum(c.value), count(*) INTO v_rows, v_shards FROM rendezvous_row_counts c;
          IF v_rows + v_shards <= p_max_total THEN
            SELECT c.shard INTO v_shard FROM rendezvous_row_counts c
            ORDER BY c.shard < p_first_shard, c.shard
            LIMIT 1 FOR UPDATE SKIP LOCKED;
          END IF;
        END IF;

        IF v_shard IS NOT NULL THEN
          UPDATE rendezvous_row_counts SET value = value + 1 WHERE shard = v_shard;
          SELECT sum(c.value), count(*) INTO v_rows, v_shards FROM rendezvous_row_counts c;
          IF v_rows + v_shards - 1 > p_max_total THEN
            RAISE EXCEPTION USING ERRCODE = 'RZ001', MESSAGE = 'near the total limit: count exactly';
          END IF;
        ELSE
          PERFORM pg_advisory_xact_lock(hashtextextended(p_total_lock, 0));
          PERFORM 1 FROM rendezvous_row_counts c ORDER BY c.shard FOR UPDATE;
          SELECT sum(c.value) INTO v_rows FROM rendezvous_row_counts c;
          IF v_rows >= p_max_total THEN
            RETURN QUERY SELECT 'counter-full'::text, NULL::bigint, NULL::bigint;
            RETURN;
          END IF;
          UPDATE rendezvous_row_counts SET value = value + 1 WHERE shard = p_first_shard;
        END IF;
      END IF;

      v_xid := pg_current_xact_id()::text::bigint;

      INSERT INTO rendezvous_registrations AS r (peer_id, namespace, signed_peer_record, legacy, record_seq, expires_at, xid, seq)
      VALUES (p_peer_id, p_namespace, p_record, p_legacy, p_record_seq, p_expires_at, v_xid, nextval('rendezvous_registration_seq'))
      ON CONFLICT (peer_id, namespace) DO UPDATE SET
        signed_peer_record = excluded.signed_peer_record,
        legacy = excluded.legacy,
        record_seq = excluded.record_seq,
        expires_at = excluded.expires_at,
        xid = excluded.xid,
        seq = excluded.seq
      RETURNING r.seq INTO v_seq;

      RETURN QUERY SELECT 'ok'::text, v_xid, v_seq;
    END
    $$`,

    // A server of the previous release, still running while the fleet is upgraded, calls version 2's function: it
    // now works out the format from the record and goes on to the one above, so its rows are indexed right too
    `CREATE OR REPLACE FUNCTION rendezvous_register (
      p_peer_id text, p_namespace text, p_record bytea, p_record_seq numeric, p_expires_at bigint,
      p_max_per_peer bigint, p_max_total bigint, p_now bigint, p_peer_lock text, p_total_lock text,
      p_first_shard integer, p_exact boolean
    ) RETURNS TABLE (outcome text, position_xid bigint, position_seq bigint) LANGUAGE plpgsql VOLATILE
      SET search_path FROM CURRENT AS $$
    BEGIN
      RETURN QUERY SELECT * FROM rendezvous_register(p_peer_id, p_namespace, p_record, p_record_seq, p_expires_at,
        p_max_per_peer, p_max_total, p_now, p_peer_lock, p_total_lock, p_first_shard, p_exact,
        rendezvous_is_legacy_record(p_record));
    END
    $$`
  ]
}]

/** The schema version this code writes and reads */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version

/** Thrown when the database was migrated by a newer release than this one */
export class SchemaTooNewError extends Error {
  static name = 'SchemaTooNewError'
  name = 'SchemaTooNewError'
}

/**
 * Creates the schema (the PostgreSQL namespace) if needed and applies every migration the database lacks, in one
 * transaction. Returns the version the database was at before.
 *
 * `sql` must connect with `search_path` set to `schema`, so that the unqualified names above land there.
 */
export async function migrate (sql: Sql, schema: string, log: Logger, migrations: Migration[] = MIGRATIONS): Promise<number> {
  const latest = migrations[migrations.length - 1]?.version ?? 0

  return sql.begin(async tx => {
    // a migration builds indexes over every row, and a server starting beside one that migrates waits for it: the
    // bounds the store puts on its statements and lock waits do not apply here
    await tx`SET LOCAL statement_timeout = 0`
    await tx`SET LOCAL lock_timeout = 0`
    // one server at a time, per schema; a hash collision with another schema only makes one of them wait
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`libp2p-rendezvous:migrate:${schema}`}, 0))`
    await tx`CREATE SCHEMA IF NOT EXISTS ${tx(schema)}`
    await tx`
      CREATE TABLE IF NOT EXISTS rendezvous_schema_version (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        version integer NOT NULL
      )`
    const rows = await tx<Array<{ version: number }>>`SELECT version FROM rendezvous_schema_version`
    const current = rows[0]?.version ?? 0

    if (current > latest) {
      throw new SchemaTooNewError(`the database schema "${schema}" is at version ${current} but this server knows versions up to ${latest}; upgrade the server`)
    }

    for (const migration of migrations) {
      if (migration.version <= current) {
        continue
      }

      log('migrating schema "%s" to version %d: %s', schema, migration.version, migration.description)

      for (const statement of migration.statements) {
        await tx.unsafe(statement)
      }
    }

    if (current < latest) {
      await tx`
        INSERT INTO rendezvous_schema_version (only_row, version) VALUES (true, ${latest})
        ON CONFLICT (only_row) DO UPDATE SET version = excluded.version`
    }

    return current
  })
}
