/**
 * The cells of one row of the matrix: a client of one implementation against a point of another. Each scenario
 * drives the client process through its commands and checks what it printed; registrants of this package
 * (in-process helpers) fill the namespaces, so that a client that cannot register can still show what it reads.
 */
import { createHelper, registerHelper } from '../fixtures/helpers.ts'
import type { Helper } from '../fixtures/helpers.ts'
import type { Implementation, PeerLine, PeerProcess } from '../fixtures/peer-process.ts'

export const SCENARIOS = ['register', 'ttl 3600', 'discover', 'paging', 'all ns', 'unregister', 'mixed formats', 'DiscoverAsync'] as const
export type Scenario = typeof SCENARIOS[number]

/** What a cell came to: `fail` is a scenario that did not do what it should and has no explanation */
export interface CellOutcome {
  ok: boolean
  /** Why it is not ok, or that it does not apply */
  detail?: string
  /** The scenario does not apply to this pair */
  notApplicable?: boolean
}

export interface RowContext {
  client: PeerProcess
  clientImpl: Implementation
  serverImpl: Implementation
  point: string
  /** Namespace prefix of this row, so rows sharing a point never see each other's registrations */
  prefix: string
  helpers: Helper[]
}

function peersOf (line: PeerLine): string[] {
  return (line.registrations ?? []).map((r: any) => r.peerId)
}

function failure (line: PeerLine): string {
  return `${line.op} answered ${line.error ?? 'nothing'}${line.statusText != null ? ` (${line.statusText})` : ''}`
}

async function helper (ctx: RowContext, init: Parameters<typeof createHelper>[0] = {}): Promise<Helper> {
  const node = await createHelper(init)
  ctx.helpers.push(node)
  return node
}

/**
 * The format registrants use: what the point accepts (`auto` finds it), and at this package's point, which accepts
 * both, what the client under test reads, as its own implementation's peers would register there. Records a client
 * cannot read are the `mixed formats` scenario's business.
 */
function registrantFormat (ctx: RowContext): 'auto' | 'standard' | 'legacy' {
  if (ctx.serverImpl !== 'js') {
    return 'auto'
  }

  return ctx.clientImpl === 'rust' ? 'legacy' : 'standard'
}

/** Two registrants of this package in `<prefix>/shared`, one of them also in `<prefix>/other` */
async function sharedNamespace (ctx: RowContext): Promise<Helper[]> {
  const format = registrantFormat(ctx)
  const registrants = [await helper(ctx, { peerRecordFormat: format }), await helper(ctx, { peerRecordFormat: format })]
  await Promise.all(registrants.map(async h => registerHelper(h, ctx.point, `${ctx.prefix}/shared`)))
  await registerHelper(registrants[0], ctx.point, `${ctx.prefix}/other`)
  return registrants
}

const wait = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Runs every scenario of a row, in order (later ones build on the registrations of earlier ones) */
export async function runRow (ctx: RowContext): Promise<Record<Scenario, CellOutcome>> {
  const cells: Partial<Record<Scenario, CellOutcome>> = {}
  const { client } = ctx
  const self = client.peerId
  let registrants: Helper[] = []
  let setupError: string | undefined

  try {
    registrants = await sharedNamespace(ctx)
  } catch (err: any) {
    setupError = `this package's registrants were refused: ${err.message}`
  }

  const needsSetup = (): CellOutcome | undefined => setupError == null ? undefined : { ok: false, detail: setupError }
  const ids = (): string[] => registrants.map(h => h.peerId.toString())

  // register without a TTL: the point's default applies
  const registered = await client.command({ op: 'register', ns: `${ctx.prefix}/shared` })
  cells.register = registered.ok === true ? { ok: true, detail: `ttl ${registered.ttl}` } : { ok: false, detail: failure(registered) }

  // register with TTL 3600, under the spec's recommended minimum of 2 h
  const withTtl = await client.command({ op: 'register', ns: `${ctx.prefix}/ttl`, ttl: 3600 })
  cells['ttl 3600'] = withTtl.ok === true ? { ok: true, detail: `granted ${withTtl.ttl}` } : { ok: false, detail: failure(withTtl) }

  // discover: every registrant of the namespace, the client itself included when it registered
  cells.discover = needsSetup() ?? await (async () => {
    const found = await client.command({ op: 'discover', ns: `${ctx.prefix}/shared` })
    if (found.ok !== true) {
      return { ok: false, detail: failure(found) }
    }
    const expected = [...ids(), ...(registered.ok === true ? [self] : [])]
    const missing = expected.filter(id => !peersOf(found).includes(id))
    return missing.length === 0 ? { ok: true } : { ok: false, detail: `${missing.length} of ${expected.length} registrants missing` }
  })()

  // paging: limit 1 and the cookie of each page, until a page comes back empty
  cells.paging = needsSetup() ?? await (async () => {
    const seen: string[] = []
    let cookie = ''
    for (let page = 0; page < 8; page++) {
      const found = await client.command({ op: 'discover', ns: `${ctx.prefix}/shared`, limit: 1, cookie })
      if (found.ok !== true) {
        return { ok: false, detail: `page ${page + 1}: ${failure(found)}` }
      }
      if (found.registrations.length > 1) {
        return { ok: false, detail: `page ${page + 1} holds ${found.registrations.length} registrations for limit 1` }
      }
      if (found.registrations.length === 0) {
        break
      }
      seen.push(...peersOf(found))
      cookie = found.cookie
    }
    const expected = [...ids(), ...(registered.ok === true ? [self] : [])]
    const missing = expected.filter(id => !seen.includes(id))
    if (missing.length > 0) {
      return { ok: false, detail: `${missing.length} of ${expected.length} registrants never paged in` }
    }
    return new Set(seen).size === seen.length ? { ok: true, detail: `${seen.length} pages` } : { ok: false, detail: 'a registrant came twice' }
  })()

  // all namespaces: the first registrant shows under both of its namespaces, each with its own name
  cells['all ns'] = needsSetup() ?? await (async () => {
    const found = await client.command({ op: 'discover' })
    if (found.ok !== true) {
      return { ok: false, detail: failure(found) }
    }
    const first = ids()[0]
    const namespaces = (found.registrations as any[]).filter(r => r.peerId === first).map(r => r.ns)
    const wanted = [`${ctx.prefix}/shared`, `${ctx.prefix}/other`]
    const missing = wanted.filter(ns => !namespaces.includes(ns))
    return missing.length === 0 ? { ok: true } : { ok: false, detail: `registrant seen under [${namespaces.join(', ')}], not under ${missing.join(', ')}` }
  })()

  // unregister, then discover from the start: the client is gone, the others are still there
  cells.unregister = registered.ok !== true
    ? { ok: false, detail: 'the client could not register (see register)' }
    : needsSetup() ?? await (async () => {
      const gone = await client.command({ op: 'unregister', ns: `${ctx.prefix}/shared` })
      if (gone.ok !== true) {
        return { ok: false, detail: failure(gone) }
      }
      // UNREGISTER has no reply: give the point a moment to act on it before asking
      await wait(300)
      const found = await client.command({ op: 'discover', ns: `${ctx.prefix}/shared`, cookie: '' })
      if (found.ok !== true) {
        return { ok: false, detail: failure(found) }
      }
      if (peersOf(found).includes(self)) {
        return { ok: false, detail: 'still discovered after UNREGISTER' }
      }
      const missing = ids().filter(id => !peersOf(found).includes(id))
      return missing.length === 0 ? { ok: true } : { ok: false, detail: `${missing.length} other registrants gone too` }
    })()

  cells['mixed formats'] = await mixedFormats(ctx)
  cells.DiscoverAsync = await discoverAsync(ctx)

  return cells as Record<Scenario, CellOutcome>
}

/**
 * One namespace holding a standard record and a legacy one (only this package's point accepts both). Each client
 * must get every record it can read and fail on none: ours reads both, Go's client the standard one, Rust's the
 * legacy one.
 */
async function mixedFormats (ctx: RowContext): Promise<CellOutcome> {
  if (ctx.serverImpl !== 'js') {
    return { ok: true, notApplicable: true, detail: `a ${ctx.serverImpl} point accepts one format only` }
  }

  const ns = `${ctx.prefix}/mixed`
  const standard = await helper(ctx, { peerRecordFormat: 'standard' })
  const legacy = await helper(ctx, { peerRecordFormat: 'legacy' })

  try {
    await registerHelper(standard, ctx.point, ns)
    await registerHelper(legacy, ctx.point, ns)
  } catch (err: any) {
    return { ok: false, detail: `registrants were refused: ${err.message}` }
  }

  const found = await ctx.client.command({ op: 'discover', ns })
  if (found.ok !== true) {
    return { ok: false, detail: failure(found) }
  }

  const readable = { js: [standard, legacy], go: [standard], rust: [legacy] }[ctx.clientImpl].map(h => h.peerId.toString())
  const missing = readable.filter(id => !peersOf(found).includes(id))
  return missing.length === 0
    ? { ok: true, detail: `${peersOf(found).length} of 2 records` }
    : { ok: false, detail: `${missing.length} readable records missing` }
}

/**
 * Go's `DiscoverAsync`: one stream, a DISCOVER, then another every interval (2 min by default, 1 s here) with the
 * cookie. A registration made after the first page must arrive through a later query on the same stream.
 */
async function discoverAsync (ctx: RowContext): Promise<CellOutcome> {
  if (ctx.clientImpl !== 'go') {
    return { ok: true, notApplicable: true, detail: 'Go only' }
  }

  const ns = `${ctx.prefix}/async`
  const first = await helper(ctx)
  const second = await helper(ctx)

  try {
    await registerHelper(first, ctx.point, ns)
  } catch (err: any) {
    return { ok: false, detail: `registrant was refused: ${err.message}` }
  }

  const started = await ctx.client.command({ op: 'discover-async', ns, interval: 1000 })
  if (started.ok !== true) {
    return { ok: false, detail: failure(started) }
  }

  const arrived = async (h: Helper, timeout: number): Promise<boolean> => ctx.client.waitFor(line => line.event === 'discovered' && line.id === started.id && line.peerId === h.peerId.toString(), timeout, 'discovered').then(() => true, () => false)

  if (!await arrived(first, 5000)) {
    const closed = ctx.client.lines.some(line => line.event === 'async-closed' && line.id === started.id)
    return { ok: false, detail: closed ? 'its channel closed without the first registrant' : 'the first registrant never came' }
  }

  await registerHelper(second, ctx.point, ns)

  if (!await arrived(second, 6000)) {
    const closed = ctx.client.lines.some(line => line.event === 'async-closed' && line.id === started.id)
    return { ok: false, detail: closed ? 'its channel closed after the first page' : 'a later registrant never came' }
  }

  return { ok: true }
}
