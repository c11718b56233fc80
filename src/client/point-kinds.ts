/**
 * Which points answer one request per stream (Rust's request-response, Nim) rather than several (ours, Go's), as
 * learned from the streams to them. A point that closes its side of a stream right after its first answer is one;
 * so is a point that leaves the second request on a stream unanswered `ONE_REQUEST_EVIDENCE` times in a row, with
 * no second request answered between: one late answer is a slow point (a store stuck on one namespace), not a kind
 * of point. What is learned is relied on for `REMEMBER_KIND_MS`, then checked again, and at most
 * `maxRememberedPoints` points are remembered (the least recently used forgotten first).
 */
import { boundedLru } from './bounded-lru.ts'
import type { Logger } from '@libp2p/interface'
import type QuickLRU from 'quick-lru'

/**
 * A point that closes a stream within this many ms of its first answer on it closes after every answer; a later
 * close is the point's idle timeout, or its restart
 */
const CLOSE_AFTER_ANSWER_MS = 2000

/** Second requests on a stream left unanswered in a row before the point is taken for one that answers one per stream */
export const ONE_REQUEST_EVIDENCE = 3

/** ms what was learned of a point's kind is relied on before it is checked again */
export const REMEMBER_KIND_MS = 10 * 60_000

/** What a stream tells of its point once its request is over */
export interface StreamHistory {
  /** Requests answered on it */
  served: number
  /** When its last answer came (performance.now()) */
  answeredAt?: number
  /** Whether the point still writes on it */
  remoteWritable: boolean
}

export class PointKinds {
  private readonly oneRequest: QuickLRU<string, true>
  private readonly unansweredSeconds: QuickLRU<string, number>
  private readonly log: Logger

  constructor (maxRememberedPoints: number, log: Logger) {
    this.oneRequest = boundedLru(maxRememberedPoints, REMEMBER_KIND_MS)
    this.unansweredSeconds = boundedLru(maxRememberedPoints, REMEMBER_KIND_MS)
    this.log = log
  }

  /** Whether point `id` was found to answer one request per stream */
  answersOnePerStream (id: string): boolean {
    return this.oneRequest.has(id)
  }

  /** A stream of point `id` was closed or given up after `stream.served` answers */
  closed (id: string, stream: StreamHistory): void {
    if (stream.served === 1 && !stream.remoteWritable && stream.answeredAt != null &&
      performance.now() - stream.answeredAt < CLOSE_AFTER_ANSWER_MS) {
      this.learnOneRequest(id)
    }
  }

  /** Point `id` answered a request on a stream that had carried others: it answers several per stream */
  answeredAgain (id: string): void {
    this.unansweredSeconds.delete(id)
  }

  /** The second request on a stream of point `id` went unanswered */
  unansweredSecond (id: string): void {
    const count = (this.unansweredSeconds.get(id) ?? 0) + 1

    if (count < ONE_REQUEST_EVIDENCE) {
      this.unansweredSeconds.set(id, count)
      return
    }

    this.unansweredSeconds.delete(id)
    this.learnOneRequest(id)
  }

  private learnOneRequest (id: string): void {
    if (!this.oneRequest.has(id)) {
      this.log('%s answers one request per stream, opening a stream per request for the next %d ms', id, REMEMBER_KIND_MS)
    }

    this.oneRequest.set(id, true)
  }
}
