import { POINTS_NAMESPACE } from '../constants.ts'
import { RendezvousError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { namespaceProblem } from '../protocol/namespace.ts'
import { comparableSeq } from '../protocol/peer-record.ts'
import type { RequestContext } from './request-context.ts'
import type { VerifiedPeerRecord } from '../protocol/peer-record.ts'

const { ResponseStatus } = Message

/**
 * Absent TTL gets the default; one under `minTtl` gets `minTtl` unless `ttlBelowMin` is `'reject'`. So does 0: canvas and the old JS server read 0 as "the maximum" or as an error,
 * and no client means "expire at once" by it, so the spec's default is the least surprising answer.
 */
function grantedTtl (requested: bigint | undefined, ctx: RequestContext): number {
  if (requested == null || requested === 0n) {
    return ctx.config.defaultTtl
  }

  if (requested > BigInt(ctx.config.maxTtl) || (requested < BigInt(ctx.config.minTtl) && ctx.config.ttlBelowMin === 'reject')) {
    throw new RendezvousError(ResponseStatus.E_INVALID_TTL, `ttl ${requested}s is outside [${ctx.config.minTtl}, ${ctx.config.maxTtl}] seconds`)
  }

  if (requested < BigInt(ctx.config.minTtl)) {
    // the reply carries the TTL granted, which is what every client schedules its refresh from
    return ctx.config.minTtl
  }

  return Number(requested)
}

/**
 * An envelope that does not open, is not a peer record, is signed by someone other than the peer it describes
 * or lists no address is E_INVALID_SIGNED_PEER_RECORD: the record itself is bad. A good record for a peer other
 * than the one on the connection is E_NOT_AUTHORIZED: the spec lets a peer register only itself.
 */
async function checkedRecord (envelope: Uint8Array | undefined, ctx: RequestContext): Promise<VerifiedPeerRecord> {
  if (envelope == null || envelope.byteLength === 0) {
    throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, 'register carries no signed peer record')
  }

  if (envelope.byteLength > ctx.config.maxRecordSize) {
    // refused before the signature check: it costs nothing, and such a record could not be kept anyway
    throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, `signed peer record is ${envelope.byteLength} bytes, above the ${ctx.config.maxRecordSize} this point accepts`)
  }

  let record: VerifiedPeerRecord
  try {
    record = await ctx.records.open(envelope)
  } catch (err: any) {
    throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, err.message)
  }

  if (!record.peerId.equals(ctx.remotePeer)) {
    throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, `a peer may only register itself: the record is for ${record.peerId}, the connection is from ${ctx.remotePeer}`)
  }

  if (record.multiaddrs.length === 0) {
    throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, 'peer record lists no address to reach the peer at')
  }

  if (record.multiaddrs.length > ctx.config.maxRecordAddresses) {
    throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, `peer record lists ${record.multiaddrs.length} addresses, above the ${ctx.config.maxRecordAddresses} this point accepts`)
  }

  return record
}

/** REGISTER: validate, store, and answer with the TTL actually granted */
export async function handleRegister (request: Message.Register | undefined, ctx: RequestContext): Promise<Message.RegisterResponse> {
  const ns = request?.ns ?? ''
  const problem = namespaceProblem(ns, ctx.config.maxNamespaceLength)

  if (problem != null) {
    throw new RendezvousError(ResponseStatus.E_INVALID_NAMESPACE, problem)
  }

  if (ns === POINTS_NAMESPACE) {
    // before the signature check: a peer that may not list itself here costs no more than this
    if (ctx.points == null) {
      throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, 'this point admits no point under /libp2p/rendezvous')
    }

    await ctx.points.check(ctx.remotePeer)
  }

  const ttl = grantedTtl(request?.ttl, ctx)
  const record = await checkedRecord(request?.signedPeerRecord, ctx)
  const outcome = await ctx.store.register({
    peerId: record.peerId.toString(),
    namespace: ns,
    // kept as it came, in its own format: a Rust registrant's legacy record goes back to Rust requesters unchanged
    signedPeerRecord: record.envelope,
    format: record.format,
    recordSeq: comparableSeq(record.seqNumber),
    expiresAt: ctx.now + ttl * 1000
  }, {
    maxRegistrationsPerPeer: ctx.config.maxRegistrationsPerPeer,
    maxRegistrationsTotal: ctx.config.maxRegistrationsTotal,
    maxRecordSize: ctx.config.maxRecordSize
  }, ctx.now)

  if (!outcome.ok) {
    switch (outcome.reason) {
      case 'peer-limit':
        // 2xx: the same request from this peer will keep failing until it unregisters something
        throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, `peer already holds the maximum of ${ctx.config.maxRegistrationsPerPeer} registrations`)
      case 'total-limit':
        // 4xx: nothing wrong with the request; the point is full, so retry later or elsewhere
        throw new RendezvousError(ResponseStatus.E_UNAVAILABLE, 'rendezvous point is full')
      case 'peer-bytes':
        throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, 'peer\'s registrations already take the most memory this point gives one peer')
      case 'total-bytes':
        throw new RendezvousError(ResponseStatus.E_UNAVAILABLE, 'rendezvous point is full (memory budget)')
      case 'stale-record':
        throw new RendezvousError(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD, 'peer record is older than the one already registered')
      default:
        throw new Error(`store refused the registration for an unknown reason: ${JSON.stringify(outcome)}`)
    }
  }

  ctx.requesters.registered(record.peerId, record.format)

  if (ns === POINTS_NAMESPACE) {
    ctx.points?.registered(record, ctx.now + ttl * 1000)
  }

  ctx.log('registered %s in %s for %ds (%s record)', record.peerId, ns, ttl, record.format)

  return { status: ResponseStatus.OK, statusText: 'OK', ttl: BigInt(ttl) }
}
