/**
 * How a refused REGISTER is sent again: once per kind of refusal, with what that kind of point takes (the record
 * format, the TTL, the addresses). Every point implementation refuses something the others take, and says it
 * differently (see docs/interop.md).
 */
import { DEFAULT_TTL_SECONDS } from '../constants.ts'
import { InvalidResponseError } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'
import { widelyUnderstoodAddresses } from './addresses.ts'
import { hasStatus } from './request-errors.ts'
import type { PointFormats } from './point-formats.ts'
import type { ResolvedPoint } from './point.ts'
import type { PeerRecordFormat } from '../protocol/peer-record.ts'
import type { Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** One REGISTER as sent: what a refusal may change for the retry */
export interface RegisterAttempt {
  format: PeerRecordFormat
  ttl?: number
  multiaddrs: Multiaddr[]
}

const { ResponseStatus } = Message

/**
 * What to change in a refused REGISTER, each kind of change at most once (`adjusted` holds those made); `undefined`:
 * give up. Points differ in what they refuse, and say it differently:
 *
 * No reply to a standard record: legacy only on evidence that the point reads nothing else (see point-formats.ts:
 * its agent, or a reset like a Rust point's seen twice, the second time on a new stream); a stream lost for any
 * other reason never changes the format. No reply to a remembered legacy record: the memory is dropped.
 *
 * E_INVALID_TTL: without the TTL when one was sent (Rust and Nim refuse < 2 h, nwaku wants 60 s, and its default is
 * always acceptable to it), with the spec's default when none was (the earlier JS server requires one).
 *
 * E_INVALID_SIGNED_PEER_RECORD, or no reply even so: only the widely understood addresses, within 2048 bytes (Nim
 * refuses a record with an address it does not know and reads 4096 bytes at most, Go takes 2048 bytes of
 * addresses), in the format that did get a reply.
 */
export async function nextAttempt (point: ResolvedPoint, attempt: RegisterAttempt, err: unknown, adjusted: Set<string>, formats: PointFormats, log: Logger): Promise<RegisterAttempt | undefined> {
  const noReply = err instanceof InvalidResponseError
  const reformatted = noReply ? await nextFormat(point, attempt, err, adjusted, formats, log) : undefined

  if (reformatted != null) {
    return reformatted
  }

  if (hasStatus(err, ResponseStatus.E_INVALID_TTL) && !adjusted.has('ttl')) {
    adjusted.add('ttl')
    log('%s refused %s, registering again %s', point.id, attempt.ttl == null ? 'a REGISTER without ttl' : `ttl ${attempt.ttl}`, attempt.ttl == null ? `with ttl ${DEFAULT_TTL_SECONDS}` : 'with its default')
    return { ...attempt, ttl: attempt.ttl == null ? DEFAULT_TTL_SECONDS : undefined }
  }

  if ((noReply || hasStatus(err, ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)) && !adjusted.has('addresses')) {
    adjusted.add('addresses')
    const narrowed = widelyUnderstoodAddresses(attempt.multiaddrs)

    if (narrowed.length === 0 || narrowed.length === attempt.multiaddrs.length) {
      return undefined
    }

    // a legacy record that got no reply either did not help: the point is not a Rust one
    const format = adjusted.has('format') && noReply ? 'standard' : attempt.format
    log('%s refused the record, registering again with %d of %d addresses', point.id, narrowed.length, attempt.multiaddrs.length)
    return { ...attempt, format, multiaddrs: narrowed }
  }

  return undefined
}

/** The format part of `nextAttempt`, for a REGISTER that got no reply */
async function nextFormat (point: ResolvedPoint, attempt: RegisterAttempt, err: unknown, adjusted: Set<string>, formats: PointFormats, log: Logger): Promise<RegisterAttempt | undefined> {
  if (adjusted.has('format')) {
    return undefined
  }

  if (attempt.format === 'legacy') {
    formats.forget(point)
    return undefined
  }

  const step = await formats.afterNoReply(point, err, adjusted.has('standard-again'))

  if (step === 'standard-again') {
    adjusted.add('standard-again')
    log('%s reset a standard REGISTER as a Rust point would, sending it again on a new stream before trying the legacy format', point.id)
    return { ...attempt }
  }

  if (step === 'legacy') {
    adjusted.add('format')
    log('%s reads only legacy records, trying the legacy record format rust-libp2p reads', point.id)
    return { ...attempt, format: 'legacy' }
  }

  return undefined
}
