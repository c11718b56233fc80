/**
 * One point this point knows in a network of points, and the timing rules of its visits: when the next REGISTER
 * (announcement) and the next DISCOVER of `/libp2p/rendezvous` (query) are due, how the query interval grows while
 * nothing new comes, and how failures back the visits off and, for a learned point, drop it.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { CODE_P2P } from '@multiformats/multiaddr'
import type { KnownPointStatus } from '../options.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The first query interval of a point, in ms: doubled each time nothing new comes, up to `pointDiscoverInterval` */
export const FIRST_QUERY_INTERVAL = 1000

/** The delay after the first failure in a row, in ms; doubled per failure up to {@link MAX_FAILURE_BACKOFF} */
export const FIRST_FAILURE_BACKOFF = 1000

/** The longest delay between two visits of a failing point, in ms (a peer point is retried at this pace for good) */
export const MAX_FAILURE_BACKOFF = 300_000

/** Failures to answer at all, in a row, after which a learned point is dropped and its listing here removed */
export const MAX_UNREACHABLE = 3

/** How soon a known point whose connection closed is asked again, to find out whether it went away, in ms */
export const PROBE_AFTER_DISCONNECT = 500

export class KnownPoint {
  readonly peerId: PeerId
  readonly id: string
  readonly source: 'peer' | 'learned'
  /** With `/p2p/<id>`, as the client dials them */
  multiaddrs: Multiaddr[]
  /** The newest record seq seen for it in a list (learned points: its addresses come from that record) */
  recordSeq = -1n
  /** Learned: when the last registration it was seen under runs out, in ms since the epoch (0: none known) */
  listedUntil = 0
  /** Until when this point's own registration there lives, in ms since the epoch (0: none) */
  announcedUntil = 0
  /** When the next REGISTER there is due (0: at the next visit) */
  announceAt = 0
  /** When the next DISCOVER there is due (0: at the next visit) */
  queryAt = 0
  queryInterval = FIRST_QUERY_INTERVAL
  /** Visits in a row that did not go well (any failure or a refusal worth retrying): the backoff */
  failures = 0
  /** Of those, the ones it did not answer at all: what drops a learned point */
  unreachable = 0
  /** The status text of the last refused REGISTER, while it is refused */
  refused?: string
  timer?: ReturnType<typeof setTimeout>
  /** When the timer fires, in ms since the epoch */
  timerAt = Infinity
  visiting?: Promise<void>

  constructor (peerId: PeerId, multiaddrs: Multiaddr[], source: 'peer' | 'learned') {
    this.peerId = peerId
    this.id = peerId.toString()
    this.source = source
    this.multiaddrs = multiaddrs.map(ma => dialable(ma, this.id))
  }

  /** The delay before the next visit after the `failures`th failure in a row */
  backoff (): number {
    return Math.min(MAX_FAILURE_BACKOFF, FIRST_FAILURE_BACKOFF * 2 ** Math.min(this.failures - 1, 30))
  }

  status (now: number): KnownPointStatus {
    return {
      peerId: this.peerId,
      multiaddrs: [...this.multiaddrs],
      source: this.source,
      announced: this.announcedUntil > now,
      ...(this.refused == null ? {} : { refused: this.refused }),
      failures: this.failures
    }
  }
}

/** The address with `/p2p/<id>` at its end, as a point's addresses must be for the client to check who answers */
export function dialable (ma: Multiaddr, id: string): Multiaddr {
  const components = ma.getComponents()
  const last = components[components.length - 1]

  return last?.code === CODE_P2P ? ma : multiaddr(`${ma.toString()}/p2p/${id}`)
}
