import { InvalidParametersError } from '@libp2p/interface'
import { MAX_TIMER_MS, MAX_TTL_SECONDS, PROTOCOL } from '../constants.ts'
import { SERVER_DEFAULTS } from '../defaults.ts'
import { largestRecordInResponse } from './response-size.ts'
import type { RendezvousServerInit } from './options.ts'

/** Every server option with its default applied */
export type ServerConfig = Required<Omit<RendezvousServerInit, 'store'>>

/** The integer options, with the largest value each may take and why */
const INTEGER_OPTIONS: Array<[keyof ServerConfig, number, string?]> = [
  // TTLs become timers (ttl * 1000 ms) and refresh delays on both sides, and clients drop TTLs past the spec's 72 h
  ['minTtl', MAX_TTL_SECONDS, '72 h, the spec\'s maximum TTL'],
  ['maxTtl', MAX_TTL_SECONDS, '72 h, the spec\'s maximum TTL'],
  ['defaultTtl', MAX_TTL_SECONDS, '72 h, the spec\'s maximum TTL'],
  ['maxNamespaceLength', Number.MAX_SAFE_INTEGER],
  ['maxRegistrationsPerPeer', Number.MAX_SAFE_INTEGER],
  ['maxRegistrationsTotal', Number.MAX_SAFE_INTEGER],
  ['maxDiscoverLimit', Number.MAX_SAFE_INTEGER],
  ['maxRequestSize', Number.MAX_SAFE_INTEGER],
  ['maxResponseSize', Number.MAX_SAFE_INTEGER],
  ['maxRecordSize', Number.MAX_SAFE_INTEGER],
  ['maxRecordAddresses', Number.MAX_SAFE_INTEGER],
  ['maxInboundStreams', Number.MAX_SAFE_INTEGER],
  ['maxConcurrentRequests', Number.MAX_SAFE_INTEGER],
  // timers longer than this fire at once
  ['maxRequestsPerStream', Number.MAX_SAFE_INTEGER],
  ['timeout', MAX_TIMER_MS, 'the longest timer delay, about 24.8 days'],
  ['streamIdleTimeout', MAX_TIMER_MS, 'the longest timer delay, about 24.8 days'],
  ['sweepInterval', MAX_TIMER_MS, 'the longest timer delay, about 24.8 days']
]

function invalid (message: string): InvalidParametersError {
  return new InvalidParametersError(`rendezvousServer option ${message}`)
}

/**
 * Applies the defaults and refuses option sets that cannot work, at construction rather than on the first
 * request, with an `InvalidParametersError` that names the option and its value.
 *
 * Defaults that depend on other options follow them when they are not set: without an explicit `defaultTtl`, the
 * spec's 2 h is clamped into [minTtl, maxTtl], so lowering `maxTtl` below 2 h (as tests and short-lived networks
 * do) brings the default down with it; without an explicit `maxRecordSize`, 4 KiB is lowered to what a request and
 * a response can carry.
 */
export function resolveServerConfig (init: RendezvousServerInit = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(init).filter(([key, value]) => value !== undefined && key !== 'store'))
  const config: ServerConfig = { ...SERVER_DEFAULTS, protocols: [...SERVER_DEFAULTS.protocols], ...defined }

  for (const [name, max, why] of INTEGER_OPTIONS) {
    const value = config[name]

    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw invalid(`${name} must be a positive integer, got ${String(value)}`)
    }

    if (value > max) {
      throw invalid(`${name} must be at most ${max} (${why ?? ''}), got ${value}`)
    }
  }

  // 0 is allowed here: no cache
  if (!Number.isSafeInteger(config.verifiedRecordCacheSize) || config.verifiedRecordCacheSize < 0) {
    throw invalid(`verifiedRecordCacheSize must be a non-negative integer, got ${String(config.verifiedRecordCacheSize)}`)
  }

  if (init.defaultTtl == null) {
    config.defaultTtl = Math.min(Math.max(SERVER_DEFAULTS.defaultTtl, config.minTtl), config.maxTtl)
  }

  if (config.minTtl > config.maxTtl) {
    throw invalid(`minTtl (${config.minTtl}) is above maxTtl (${config.maxTtl})`)
  }

  if (config.defaultTtl < config.minTtl || config.defaultTtl > config.maxTtl) {
    throw invalid(`defaultTtl (${config.defaultTtl}) is outside [minTtl, maxTtl] = [${config.minTtl}, ${config.maxTtl}]`)
  }

  checkRecordSize(config, init.maxRecordSize != null)

  if (config.ttlBelowMin !== 'clamp' && config.ttlBelowMin !== 'reject') {
    throw invalid(`ttlBelowMin must be 'clamp' or 'reject', got ${JSON.stringify(config.ttlBelowMin)}`)
  }

  if (!Array.isArray(config.protocols) || config.protocols.length === 0) {
    throw invalid('protocols must name at least one protocol')
  }

  for (const protocol of config.protocols) {
    if (typeof protocol !== 'string' || !/^\/\S+$/.test(protocol)) {
      throw invalid(`protocols must be protocol ids that start with "/" and hold no spaces, e.g. "${PROTOCOL}", got ${JSON.stringify(protocol)}`)
    }
  }

  if (typeof config.runOnLimitedConnection !== 'boolean') {
    throw invalid(`runOnLimitedConnection must be true or false, got ${JSON.stringify(config.runOnLimitedConnection)}`)
  }

  return config
}

/**
 * Every record the server accepts must fit in one DISCOVER_RESPONSE: one that does not is never sent, and the
 * cookie of its namespace never passes it. And no record larger than a request can arrive.
 */
function checkRecordSize (config: ServerConfig, explicit: boolean): void {
  const fitsResponse = largestRecordInResponse(config.maxResponseSize, config.maxNamespaceLength)

  if (!explicit) {
    config.maxRecordSize = Math.min(config.maxRecordSize, config.maxRequestSize, fitsResponse)
  }

  if (config.maxRecordSize < 1 || config.maxRecordSize > fitsResponse) {
    throw invalid(`maxResponseSize (${config.maxResponseSize}) cannot carry a record of maxRecordSize (${config.maxRecordSize}) bytes in a namespace of maxNamespaceLength (${config.maxNamespaceLength}) bytes: it needs at least ${config.maxResponseSize - fitsResponse + Math.max(1, config.maxRecordSize)}`)
  }

  if (config.maxRecordSize > config.maxRequestSize) {
    throw invalid(`maxRecordSize (${config.maxRecordSize}) is above maxRequestSize (${config.maxRequestSize}): no request could carry such a record`)
  }
}
