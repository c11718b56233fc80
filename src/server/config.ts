import {
  DEFAULT_TIMEOUT_MS, DEFAULT_TTL_SECONDS, MAX_DISCOVER_LIMIT, MAX_NAMESPACE_LENGTH, MAX_REGISTRATIONS_PER_PEER,
  MAX_REGISTRATIONS_TOTAL, MAX_REQUEST_SIZE, MAX_REQUESTS_PER_STREAM, MAX_RESPONSE_SIZE, MAX_TTL_SECONDS, MIN_TTL_SECONDS, PROTOCOL,
  STREAM_IDLE_TIMEOUT_MS
} from '../constants.ts'
import type { RendezvousServerInit } from './options.ts'

/** Every server option with its default applied */
export type ServerConfig = Required<Omit<RendezvousServerInit, 'store'>>

export const SERVER_DEFAULTS: ServerConfig = {
  minTtl: MIN_TTL_SECONDS,
  maxTtl: MAX_TTL_SECONDS,
  defaultTtl: DEFAULT_TTL_SECONDS,
  maxNamespaceLength: MAX_NAMESPACE_LENGTH,
  maxRegistrationsPerPeer: MAX_REGISTRATIONS_PER_PEER,
  maxRegistrationsTotal: MAX_REGISTRATIONS_TOTAL,
  maxDiscoverLimit: MAX_DISCOVER_LIMIT,
  maxRequestSize: MAX_REQUEST_SIZE,
  maxResponseSize: MAX_RESPONSE_SIZE,
  maxInboundStreams: 32,
  maxConcurrentRequests: 256,
  timeout: DEFAULT_TIMEOUT_MS,
  streamIdleTimeout: STREAM_IDLE_TIMEOUT_MS,
  maxRequestsPerStream: MAX_REQUESTS_PER_STREAM,
  sweepInterval: 60_000,
  runOnLimitedConnection: true,
  protocols: [PROTOCOL]
}

function positiveInteger (name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`rendezvous server option ${name} must be a positive integer, got ${value}`)
  }
}

/**
 * Applies the defaults and refuses option sets that cannot work, at construction rather than on the first
 * request. Without an explicit `defaultTtl`, the spec's 2 h is clamped into [minTtl, maxTtl], so lowering `maxTtl`
 * below 2 h (as tests and short-lived networks do) brings the default down with it.
 */
export function resolveServerConfig (init: RendezvousServerInit = {}): ServerConfig {
  const defined = Object.fromEntries(Object.entries(init).filter(([key, value]) => value !== undefined && key !== 'store'))
  const config: ServerConfig = { ...SERVER_DEFAULTS, ...defined }

  if (init.defaultTtl == null) {
    config.defaultTtl = Math.min(Math.max(DEFAULT_TTL_SECONDS, config.minTtl), config.maxTtl)
  }

  for (const name of ['minTtl', 'maxTtl', 'defaultTtl', 'maxNamespaceLength', 'maxRegistrationsPerPeer', 'maxRegistrationsTotal',
    'maxDiscoverLimit', 'maxRequestSize', 'maxResponseSize', 'maxInboundStreams', 'maxConcurrentRequests', 'timeout', 'streamIdleTimeout', 'maxRequestsPerStream', 'sweepInterval'] as const) {
    positiveInteger(name, config[name])
  }

  if (config.minTtl > config.maxTtl) {
    throw new RangeError(`rendezvous server option minTtl (${config.minTtl}) is above maxTtl (${config.maxTtl})`)
  }

  if (config.defaultTtl < config.minTtl || config.defaultTtl > config.maxTtl) {
    throw new RangeError(`rendezvous server option defaultTtl (${config.defaultTtl}) is outside [minTtl, maxTtl] = [${config.minTtl}, ${config.maxTtl}]`)
  }

  if (config.protocols.length === 0) {
    throw new RangeError('rendezvous server option protocols must name at least one protocol')
  }

  return config
}
