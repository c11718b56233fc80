/**
 * The PostgreSQL store's DISCOVER statement: one round trip that reads a page of registrations in position order,
 * with the horizon below which every position is settled, from one snapshot.
 *
 * Positions are (xid, seq), see postgres-store.ts. A page is at most two range scans of one index:
 *
 * first, when the cookie says positions above `after` up to `sent` were sent while not settled yet, the part of
 * them that has settled since (`xid` below the horizon) is read again: a registration that committed into it late
 * is among it, and nothing else could be; the part still not settled is skipped, it was sent. Then what lies past
 * `sent` (past `after` when nothing was sent that way).
 *
 * So a cookie makes progress past a transaction held open anywhere in the cluster, loses nothing that commits
 * behind it, and sends a registration at most once more. A reader of legacy records only reads the partial indexes
 * of those (`WHERE legacy`): a range scan of the few it returns, however many standard records lie around them. The
 * work is bounded by `limit` rows per scan, never by what the scans pass over (expired rows not yet swept aside).
 */
import type postgres from 'postgres'

const MAX_INT64 = 0x7fff_ffff_ffff_ffffn

/** A 64-bit half of a position */
const MAX_UINT64 = 0xffff_ffff_ffff_ffffn

/** A position as the (xid, seq) columns hold it, clamped to them; `undefined` past their largest value */
export function columnsOf (position: bigint): [string, string] | undefined {
  const xid = position >> 64n
  const seq = position & MAX_UINT64

  if (xid > MAX_INT64 || (xid === MAX_INT64 && seq >= MAX_INT64)) {
    return undefined
  }

  return [xid.toString(), (seq > MAX_INT64 ? MAX_INT64 : seq).toString()]
}

export interface DiscoverStatementInput {
  /** `undefined`: every namespace */
  namespace?: string
  /** Read past this position (see {@link columnsOf}) */
  after: [string, string]
  /** Positions above `after` up to this one were sent while not settled */
  sent?: [string, string]
  /** On the database's clock, ms */
  now: number
  limit: number
  legacyOnly?: boolean
}

/** One row of a page, or the horizon alone (every other column null) when the page is empty */
export interface DiscoverRow {
  horizon: string
  peer_id: string | null
  namespace: string
  signed_peer_record: Uint8Array
  legacy: boolean
  record_seq: string
  expires_at: string
  xid: string
  seq: string
}

/** The SQL text of each kind of page, built once: postgres.js spends ~0.3 ms composing nested fragments per call */
const texts = new Map<string, string>()

function textOf (byNamespace: boolean, legacyOnly: boolean, sent: boolean): string {
  const key = `${byNamespace}${legacyOnly}${sent}`
  let text = texts.get(key)

  if (text == null) {
    // $1 now, $2 limit, $3 $4 after, then $5 $6 sent when there is one, then the namespace when there is one
    const match = `${byNamespace ? `namespace = $${sent ? 7 : 5} AND ` : ''}${legacyOnly ? 'legacy AND ' : ''}expires_at > $1`
    const columns = 'peer_id, namespace, signed_peer_record, legacy, record_seq, expires_at, xid, seq'
    const page = sent
      ? `SELECT * FROM ((
          SELECT ${columns} FROM rendezvous_registrations
          WHERE ${match} AND (xid, seq) > ($3::bigint, $4::bigint) AND (xid, seq) <= ($5::bigint, $6::bigint) AND xid < horizon.xmin
          ORDER BY xid, seq LIMIT $2
        ) UNION ALL (
          SELECT ${columns} FROM rendezvous_registrations
          WHERE ${match} AND (xid, seq) > ($5::bigint, $6::bigint)
          ORDER BY xid, seq LIMIT $2
        )) AS both_parts ORDER BY xid, seq LIMIT $2`
      : `SELECT ${columns} FROM rendezvous_registrations
        WHERE ${match} AND (xid, seq) > ($3::bigint, $4::bigint)
        ORDER BY xid, seq LIMIT $2`
    // the horizon comes from the snapshot the rows are read in: every transaction below it had ended when they were read
    text = `WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin)
      SELECT horizon.xmin AS horizon, page.* FROM horizon LEFT JOIN LATERAL (${page}) AS page ON true`
    texts.set(key, text)
  }

  return text
}

/** The page's SQL and its parameters, for a connection whose `search_path` is the store's schema */
export function discoverQuery (input: DiscoverStatementInput): { text: string, params: Array<string | number> } {
  const params: Array<string | number> = [input.now, input.limit, input.after[0], input.after[1], ...input.sent ?? []]

  if (input.namespace != null) {
    params.push(input.namespace)
  }

  return { text: textOf(input.namespace != null, input.legacyOnly === true, input.sent != null), params }
}

/** The page as a prepared statement on `sql` */
export function discoverStatement (sql: postgres.Sql, input: DiscoverStatementInput): postgres.PendingQuery<DiscoverRow[]> {
  const { text, params } = discoverQuery(input)
  return sql.unsafe<DiscoverRow[]>(text, params, { prepare: true })
}
