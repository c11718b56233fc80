/**
 * The client's options with their defaults applied, checked when the service is built rather than on the first
 * request: a value that cannot work throws the package's one error for bad options, naming the option and the value.
 */
import { MAX_TIMER_MS } from '../constants.ts'
import { CLIENT_DEFAULTS } from '../defaults.ts'
import { invalidOption } from '../errors.ts'
import { booleanOption, oneOfOption, positiveInteger } from '../option-checks.ts'
import type { RendezvousClientInit } from './types.ts'

/** Every client option with its default applied */
export type ClientConfig = Required<RendezvousClientInit>

const OWNER = 'rendezvousClient'

export function resolveClientConfig (init: RendezvousClientInit = {}): ClientConfig {
  const config: ClientConfig = { ...CLIENT_DEFAULTS }

  for (const [key, value] of Object.entries(init)) {
    if (value !== undefined) {
      (config as Record<string, unknown>)[key] = value
    }
  }

  if (typeof config.protocol !== 'string' || !/^\/\S+$/.test(config.protocol)) {
    throw invalidOption(OWNER, 'protocol', 'a protocol id that starts with "/" and holds no spaces', config.protocol)
  }

  return {
    timeout: positiveInteger(OWNER, 'timeout', config.timeout, MAX_TIMER_MS),
    maxResponseSize: positiveInteger(OWNER, 'maxResponseSize', config.maxResponseSize),
    runOnLimitedConnection: booleanOption(OWNER, 'runOnLimitedConnection', config.runOnLimitedConnection),
    protocol: config.protocol,
    maxCookies: positiveInteger(OWNER, 'maxCookies', config.maxCookies),
    maxDiscoverPages: positiveInteger(OWNER, 'maxDiscoverPages', config.maxDiscoverPages),
    discoverLimit: positiveInteger(OWNER, 'discoverLimit', config.discoverLimit),
    peerRecordFormat: oneOfOption(OWNER, 'peerRecordFormat', config.peerRecordFormat, ['auto', 'standard', 'legacy']),
    maxRememberedPoints: positiveInteger(OWNER, 'maxRememberedPoints', config.maxRememberedPoints),
    reuseStreams: booleanOption(OWNER, 'reuseStreams', config.reuseStreams),
    maxStreamsPerPoint: positiveInteger(OWNER, 'maxStreamsPerPoint', config.maxStreamsPerPoint),
    streamIdleTimeout: positiveInteger(OWNER, 'streamIdleTimeout', config.streamIdleTimeout, MAX_TIMER_MS)
  }
}
