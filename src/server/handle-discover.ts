import { InvalidCookieError, RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { decodeCookie, encodeCookie } from '../protocol/cookie.ts'
import { namespaceByteLength, namespaceProblem } from '../protocol/namespace.ts'
import { peerRecordFormatOf } from '../protocol/peer-record.ts'
import { REGISTRATION_OVERHEAD, RESPONSE_OVERHEAD } from './response-size.ts'
import type { RequestContext } from './request-context.ts'

const { ResponseStatus } = Message

/**
 * Store reads one DISCOVER may make to fill its page when records the requester cannot read are skipped (a Rust
 * requester in a namespace of JS and Go registrants): past it the page goes out short, with a cookie after the last
 * registration looked at, so the next page goes on from there.
 */
const MAX_STORE_READS = 8

function requestedLimit (limit: bigint | undefined, ctx: RequestContext): number {
  const max = ctx.config.maxDiscoverLimit

  // absent and 0 both mean "as many as you allow": Rust and Nim read 0 as "none", which no client wants
  if (limit == null || limit === 0n || limit > BigInt(max)) {
    return max
  }

  return Number(limit)
}

/** Where the cookie says the last page ended (0n: from the start); E_INVALID_COOKIE for one that is not ours */
function cursorOf (cookie: Uint8Array | undefined, namespace: string | undefined, ctx: RequestContext): bigint {
  if (cookie == null || cookie.byteLength === 0) {
    return 0n
  }

  try {
    return decodeCookie(ctx.cookieSecret, namespace, cookie)
  } catch (err: any) {
    if (err instanceof InvalidCookieError) {
      throw new RendezvousError(ResponseStatus.E_INVALID_COOKIE, err.message)
    }
    throw err
  }
}

/**
 * The registrations after `afterSeq` the requester can read, cut to `limit` and to the response size, and the
 * position the cookie will carry. A requester that reads only legacy records (a rust-libp2p client) gets only those:
 * the page is filled past the others and the cookie goes on after them.
 */
async function readPage (namespace: string | undefined, afterSeq: bigint, limit: number, ctx: RequestContext): Promise<{ registrations: Message.Register[], cursor: bigint }> {
  const registrations: Message.Register[] = []
  let size = RESPONSE_OVERHEAD
  // where the cookie will point: only past registrations the store calls settled
  let cursor = afterSeq
  // where the next store read starts: past everything this page has looked at
  let seen = afterSeq
  let done = false
  // asked once, at the first standard record: the answer may wait for identify
  let legacyOnly: boolean | undefined
  let lastNamespace: string | undefined
  let lastNamespaceLength = 0

  for (let reads = 0; reads < MAX_STORE_READS && !done && registrations.length < limit; reads++) {
    const wanted = limit - registrations.length
    const page = await ctx.store.discover({ namespace, afterSeq: seen, limit: wanted, now: ctx.now })
    // a registration still in flight may commit below a position the store shows: the cookie waits for it
    const settled = (seq: bigint): boolean => page.settledBelow == null || seq < page.settledBelow

    for (const registration of page.registrations) {
      // a rust-libp2p client fails the whole response on one standard record: it gets the legacy ones only
      if (legacyOnly !== false && peerRecordFormatOf(registration.signedPeerRecord) !== 'legacy') {
        legacyOnly ??= await ctx.readsOnlyLegacy()

        if (legacyOnly) {
          seen = registration.seq
          cursor = settled(registration.seq) ? registration.seq : cursor
          continue
        }
      }

      // a page is mostly one namespace: its length is measured once
      if (registration.namespace !== lastNamespace) {
        lastNamespace = registration.namespace
        lastNamespaceLength = namespaceByteLength(lastNamespace)
      }

      size += lastNamespaceLength + registration.signedPeerRecord.byteLength + REGISTRATION_OVERHEAD

      if (size > ctx.config.maxResponseSize) {
        // the rest follows on the next page: the cookie points just after the last registration sent
        done = true
        break
      }

      registrations.push({
        ns: registration.namespace,
        // protons types fields as ArrayBuffer-backed; stores may hand out views of any buffer, which encode the same
        signedPeerRecord: registration.signedPeerRecord as Uint8Array<ArrayBuffer>,
        // the time it has left, rounded up so that a live registration never reads as expired
        ttl: BigInt(Math.max(1, Math.ceil((registration.expiresAt - ctx.now) / 1000)))
      })
      seen = registration.seq
      cursor = settled(registration.seq) ? registration.seq : cursor
    }

    // the store has nothing more after this page, or the cookie already waits behind one in flight
    if (page.registrations.length < wanted || cursor !== seen) {
      done = true
    }
  }

  return { registrations, cursor }
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

  const afterSeq = cursorOf(request?.cookie, namespace, ctx)
  const { registrations, cursor } = await readPage(namespace, afterSeq, requestedLimit(request?.limit, ctx), ctx)

  return {
    status: ResponseStatus.OK,
    statusText: 'OK',
    registrations,
    // always a cookie, even on an empty page: Rust clients require one in every OK response
    cookie: encodeCookie(ctx.cookieSecret, namespace, cursor)
  }
}
