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
    // `seq` orders every accepted REGISTER across the fleet; cookies are positions in it. The store takes the
    // next value only while holding the fleet-wide "seq" advisory lock (see postgres-store.ts), so values commit
    // in the order they are taken and a reader never passes a value that could still appear below it.
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
    // total limit is checked without counting the table. The store reads it under the "seq" lock, which every
    // insert holds, so two servers cannot both take the last free place.
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

    // REGISTER in one round trip, so the fleet-wide "seq" lock is held only while the row is written and the
    // transaction commits, never across a network round trip to the server that asked. The steps and why they are
    // correct are explained at the top of postgres-store.ts. Each statement of a VOLATILE function takes a fresh
    // snapshot, so what is read after a lock is taken includes everything committed before it was granted.
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
