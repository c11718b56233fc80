/**
 * When the node's discovery queries go, as pure functions of what the last answers said (no clock, no timers:
 * the queries pass the time in, and the specs run them without waiting):
 *
 * - while the quota is unmet and the namespace is young (`fastDiscoverWindow`), queries follow each other fast
 * (`fastDiscoverInterval`, doubling while nothing new comes, past `discoverInterval` too): peers started at the
 * same moment register over a few hundred ms, and waiting a whole interval for the second query would double the
 * time to quota; once nothing new has come for a while, polling every second until the window ends would not
 * (2 nodes with 40 topics each cost 13-14 DISCOVERs per namespace per node in the first 10 s that way, 8-9 now);
 * - later, while the quota is unmet, every `discoverInterval`, doubling up to `maxDiscoverInterval` while
 * nothing new comes; a quota that turns unmet pulls the next query forward (`QUOTA_UNMET_QUERY_DELAY`);
 * - once the quota is met, every `satisfiedDiscoverInterval` (the first one at a random point of the interval,
 * so that nodes started together do not query together);
 * - a full page that brought records not seen earlier in the same walk is followed by the next page at once
 * (`isFullPage`); a young namespace whose registrants still arrive is confirmed settled by the first query after
 * `SETTLE_QUIET` (`settleCheckDelay`).
 */
import { jitter } from '../backoff.ts'
import type { DiscoverResult } from '../../client/types.ts'
import type { ResolvedOptions } from '../config.ts'

export type QueryScheduleOptions = Pick<ResolvedOptions, 'fastDiscoverInterval' | 'fastDiscoverWindow' | 'discoverInterval' | 'maxDiscoverInterval' | 'satisfiedDiscoverInterval'>

/**
 * How long no new registrant must have come before a young namespace's list counts as settled, in ms: more than
 * the gaps between the registrations of nodes started together on a loaded machine. The query that confirms it
 * goes out as this quiet time ends
 */
export const SETTLE_QUIET = 100

/** Delay of the query that follows a quota turning unmet, in ms (±50%) */
export const QUOTA_UNMET_QUERY_DELAY = 200

/** The delays a (point, namespace) query is at */
export interface QueryDelays {
  /** The delay of the fast schedule now */
  fast: number
  /** The delay of the slow schedule now */
  interval: number
  /** The last delay set was the satisfied one */
  satisfied: boolean
}

export interface QueryTiming {
  /** How many peers the last answer brought that were new to the namespace */
  added: number
  /** How many more peers the namespace wants */
  deficit: number
  /** How long the namespace has been wanted, in ms */
  age: number
}

/** The delays a query starts with, and starts over with when its quota turns unmet */
export function initialDelays (options: QueryScheduleOptions): QueryDelays {
  return { fast: options.fastDiscoverInterval, interval: options.discoverInterval, satisfied: false }
}

/**
 * The delay before the next query (not within a walk of pages), and the delays for the time after. The fast and
 * slow delays start over when something new came, and double for the next time when nothing did.
 */
export function nextQueryDelay (delays: QueryDelays, timing: QueryTiming, options: QueryScheduleOptions, random: () => number): { delay: number, next: QueryDelays } {
  let { fast, interval } = timing.added > 0 ? initialDelays(options) : delays
  let delay: number
  let satisfied: boolean

  if (timing.deficit > 0) {
    delay = jitter(timing.age < options.fastDiscoverWindow ? fast : interval, 0.1, random)
    satisfied = false
  } else {
    // at quota: a fixed period, so that a newcomer is seen within it and the point hears at most one query per
    // period; the first one lands at a random point of the period
    delay = delays.satisfied ? options.satisfiedDiscoverInterval : options.satisfiedDiscoverInterval * (0.5 + 0.5 * random())
    satisfied = true
  }

  if (timing.added === 0) {
    fast = Math.min(fast * 2, options.maxDiscoverInterval)
    interval = Math.min(interval * 2, options.maxDiscoverInterval)
  }

  return { delay, next: { fast, interval, satisfied } }
}

/** The delay of the query that follows a quota turning unmet: spread, since many nodes lose the same relay at once */
export function quotaUnmetDelay (random: () => number): number {
  return jitter(QUOTA_UNMET_QUERY_DELAY, 0.5, random)
}

/**
 * While a young namespace's registrants still arrive (the last one came at `grewAt`), the next query goes no later
 * than just after the quiet time, so that whoever waits for the list to settle learns that it has
 */
export function settleCheckDelay (delay: number, grewAt: number, now: number): number {
  return Math.min(delay, Math.max(0, grewAt + SETTLE_QUIET - now) + 1)
}

/** Whether an answer filled its page: more may follow at once, with its cookie */
export function isFullPage (result: Pick<DiscoverResult, 'cookie' | 'registrations' | 'dropped'>, limit: number): boolean {
  return result.cookie != null && result.registrations.length + result.dropped >= limit
}
