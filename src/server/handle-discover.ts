import { InvalidCookieError, RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { decodeCookieRange, encodeCookieRange } from '../protocol/cookie.ts'
import { namespaceByteLength, namespaceProblem } from '../protocol/namespace.ts'
import { REGISTRATION_OVERHEAD, RESPONSE_OVERHEAD } from './response-size.ts'
import type { RequestContext } from './request-context.ts'
import type { CookieRange } from '../protocol/cookie.ts'
import type { DiscoverPage } from './store/registration-store.ts'

const { ResponseStatus } = Message

function requestedLimit (limit: bigint | undefined, ctx: RequestContext): number {
  const max = ctx.config.maxDiscoverLimit

  // absent and 0 both mean "as many as you allow": Rust and Nim read 0 as "none", which no client wants
  if (limit == null || limit === 0n || limit > BigInt(max)) {
    return max
  }

  return Number(limit)
}

/** Where the cookie says the last page ended (0n: from the start); E_INVALID_COOKIE for one that is not ours */
function rangeOf (cookie: Uint8Array | undefined, namespace: string | undefined, ctx: RequestContext): CookieRange {
  if (cookie == null || cookie.byteLength === 0) {
    return { settled: 0n, sent: 0n }
  }

  try {
    return decodeCookieRange(ctx.cookieSecret, namespace, cookie)
  } catch (err: any) {
    if (err instanceof InvalidCookieError) {
      throw new RendezvousError(ResponseStatus.E_INVALID_COOKIE, err.message)
    }
    throw err
  }
}

/**
 * Where the next page starts, after a page that sent registrations up to `lastSent` (none: `undefined`) from a
 * store that settled positions below `settledBelow`. The cookie's settled end never passes an unsettled position,
 * or it would skip a registration that commits there later; its sent end records how far the page went past it,
 * so that the next page goes on from there rather than send the same registrations again and again while a
 * transaction stays open somewhere (see {@link DiscoverQuery.sentUpTo}).
 */
export function nextRange (from: CookieRange, settledBelow: bigint | undefined, lastSent: bigint | undefined): CookieRange {
  const max = (a: bigint, b: bigint): bigint => a > b ? a : b
  const min = (a: bigint, b: bigint): bigint => a < b ? a : b

  if (settledBelow == null) {
    // every position is settled
    return lastSent == null ? from : { settled: lastSent, sent: lastSent }
  }

  const lastSettled = settledBelow - 1n
  // the page went through every settled registration up to here: past `from.sent` only as far as it sent, and
  // nothing past it when it sent nothing (a page holds the registrations in position order)
  const settled = max(from.settled, min(lastSettled, lastSent ?? from.sent))
  return { settled, sent: max(max(from.sent, settled), lastSent ?? 0n) }
}

/**
 * The registrations the requester can read after the cookie's range, cut to `limit` and to the response size, and
 * the range the next cookie will carry. A requester that reads only legacy records (a rust-libp2p client) gets
 * only those, read from the store's index of them: the work is the page, however many standard records lie around
 * them. Whether it is one is asked only when the page holds a standard record and nothing is known yet, as the
 * answer may wait for identify; the store is then read once more, for legacy records only.
 */
async function readPage (namespace: string | undefined, from: CookieRange, limit: number, ctx: RequestContext): Promise<{ registrations: Message.Register[], next: CookieRange }> {
  const read = async (legacyOnly: boolean): Promise<DiscoverPage> =>
    ctx.store.discover({ namespace, afterSeq: from.settled, sentUpTo: from.sent, limit, now: ctx.now, legacyOnly })
  let legacyOnly = ctx.readsOnlyLegacyKnown()
  let page = await read(legacyOnly === true)

  if (legacyOnly == null && page.registrations.some(registration => registration.format !== 'legacy')) {
    // a rust-libp2p client fails the whole response on one standard record: it gets the legacy ones only
    legacyOnly = await ctx.readsOnlyLegacy()

    if (legacyOnly) {
      page = await read(true)
    }
  }

  const registrations: Message.Register[] = []
  let size = RESPONSE_OVERHEAD
  let lastSent: bigint | undefined
  let lastNamespace: string | undefined
  let lastNamespaceLength = 0

  for (const registration of page.registrations) {
    // a page is mostly one namespace: its length is measured once
    if (registration.namespace !== lastNamespace) {
      lastNamespace = registration.namespace
      lastNamespaceLength = namespaceByteLength(lastNamespace)
    }

    size += lastNamespaceLength + registration.signedPeerRecord.byteLength + REGISTRATION_OVERHEAD

    if (size > ctx.config.maxResponseSize) {
      // the rest follows on the next page: the cookie points just after the last registration sent
      break
    }

    registrations.push({
      ns: registration.namespace,
      // protons types fields as ArrayBuffer-backed; stores may hand out views of any buffer, which encode the same
      signedPeerRecord: registration.signedPeerRecord as Uint8Array<ArrayBuffer>,
      // the time it has left, rounded up so that a live registration never reads as expired
      ttl: BigInt(Math.max(1, Math.ceil((registration.expiresAt - ctx.now) / 1000)))
    })
    lastSent = registration.seq
  }

  // nothing sent from a page that held something (cannot happen: every record fits a page alone) moves nothing
  return { registrations, next: lastSent == null && page.registrations.length > 0 ? from : nextRange(from, page.settledBelow, lastSent) }
}

/**
 * DISCOVER: the live registrations after the cookie's position, in the order they were written, cut to the
 * limit and to the response size, with a cookie for where the page ended. An empty namespace is read as "all",
 * as an absent one is: some encoders cannot tell the two apart.
 */
export async function handleDiscover (request: Message.Discover | undefined, ctx: RequestContext): Promise<Message.DiscoverResponse> {
  const namespace = request?.ns == null || request.ns === '' ? undefined : request.ns

  if (namespace != null) {
    const problem = namespaceProblem(namespace, ctx.config.maxNamespaceLength)

    if (problem != null) {
      throw new RendezvousError(ResponseStatus.E_INVALID_NAMESPACE, problem)
    }
  }

  const from = rangeOf(request?.cookie, namespace, ctx)
  const { registrations, next } = await readPage(namespace, from, requestedLimit(request?.limit, ctx), ctx)

  return {
    status: ResponseStatus.OK,
    statusText: 'OK',
    registrations,
    // always a cookie, even on an empty page: Rust clients require one in every OK response
    cookie: encodeCookieRange(ctx.cookieSecret, namespace, next)
  }
}
