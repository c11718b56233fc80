import { InvalidCookieError, RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { decodeCookie, encodeCookie } from '../protocol/cookie.ts'
import { namespaceByteLength, namespaceProblem } from '../protocol/namespace.ts'
import { REGISTRATION_OVERHEAD, RESPONSE_OVERHEAD } from './response-size.ts'
import type { RequestContext } from './request-context.ts'

const { ResponseStatus } = Message

function requestedLimit (limit: bigint | undefined, ctx: RequestContext): number {
  const max = ctx.config.maxDiscoverLimit

  // absent and 0 both mean "as many as you allow": Rust and Nim read 0 as "none", which no client wants
  if (limit == null || limit === 0n || limit > BigInt(max)) {
    return max
  }

  return Number(limit)
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

  let afterSeq = 0n
  if (request?.cookie != null && request.cookie.byteLength > 0) {
    try {
      afterSeq = decodeCookie(ctx.cookieSecret, namespace, request.cookie)
    } catch (err: any) {
      if (err instanceof InvalidCookieError) {
        throw new RendezvousError(ResponseStatus.E_INVALID_COOKIE, err.message)
      }
      throw err
    }
  }

  const page = await ctx.store.discover({
    namespace,
    afterSeq,
    limit: requestedLimit(request?.limit, ctx),
    now: ctx.now
  })

  const registrations: Message.Register[] = []
  let size = RESPONSE_OVERHEAD
  let cursor = afterSeq

  for (const registration of page.registrations) {
    size += namespaceByteLength(registration.namespace) + registration.signedPeerRecord.byteLength + REGISTRATION_OVERHEAD

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

    // a registration still in flight may commit below a position the store shows: the cookie waits for it
    if (page.settledBelow == null || registration.seq < page.settledBelow) {
      cursor = registration.seq
    }
  }

  return {
    status: ResponseStatus.OK,
    statusText: 'OK',
    registrations,
    // always a cookie, even on an empty page: Rust clients require one in every OK response
    cookie: encodeCookie(ctx.cookieSecret, namespace, cursor)
  }
}
