/**
 * The client's options as a table (type and bounds, default, one line of docs), and its check: `rendezvousClient()`
 * runs it when it is called, and the discovery module for its `clientInit`, so a value that cannot work, or a key
 * that is no option, throws the option error then rather than on the first request.
 */
import { MAX_DISCOVER_LIMIT, MAX_TIMER_MS, PROTOCOL } from '../constants.ts'
import { checkOptions } from '../options/check-options.ts'
import { defaultsOf } from '../options/option-table.ts'
import { boolean, integer, oneOf, protocolId } from '../options/option-types.ts'
import type { RendezvousClientInit } from './types.ts'
import type { OptionTable } from '../options/option-table.ts'

/** Every client option with its default applied */
export type ClientConfig = Required<RendezvousClientInit>

const COUNT = integer({ min: 1 })
const TIMER = integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms' })

export const CLIENT_OPTIONS: OptionTable<RendezvousClientInit, ClientConfig> = {
  owner: 'rendezvousClient',
  rows: {
    timeout: {
      type: TIMER,
      default: 10_000,
      doc: 'time for one exchange (dial, request, response), ms'
    },
    maxResponseSize: {
      type: integer({ min: 1, unit: 'bytes' }),
      // the server's default maxResponseSize: 1000 registrations of ~1 KiB, and Rust's cap on messages
      default: 1024 * 1024,
      doc: 'largest response read, bytes'
    },
    runOnLimitedConnection: {
      type: boolean(),
      default: true,
      doc: 'talk to points reached over relayed connections'
    },
    protocol: {
      type: protocolId(),
      default: PROTOCOL,
      doc: 'protocol id spoken'
    },
    maxCookies: {
      type: COUNT,
      default: 1024,
      doc: 'cookies kept, one per (point, namespace), least recently used forgotten first'
    },
    maxDiscoverPages: {
      type: COUNT,
      default: 100,
      doc: 'DISCOVER requests one `discoverAll` walk sends at most'
    },
    discoverLimit: {
      type: COUNT,
      // always sent: Rust points return every registration without one
      default: MAX_DISCOVER_LIMIT,
      note: 'the spec\'s recommended maximum',
      doc: 'the limit a DISCOVER carries when the caller gives none; a limit is always sent (Rust returns everything without one)'
    },
    peerRecordFormat: {
      type: oneOf(['auto', 'standard', 'legacy']),
      default: 'auto',
      doc: 'how REGISTER\'s record is sealed: `\'standard\'` (Go, JS, Nim), `\'legacy\'` (rust-libp2p), `\'auto\'`: legacy at a point whose identify agent is `rust-libp2p/…`, or that reset two standard REGISTERs in a row and took a legacy one (never at a js-libp2p agent), remembered per point for 10 minutes (see [interop.md](interop.md))'
    },
    maxRememberedPoints: {
      type: COUNT,
      default: 1024,
      doc: 'points whose record format `\'auto\'` remembers, and whose way of serving streams is remembered, least recently used forgotten first'
    },
    reuseStreams: {
      type: boolean(),
      default: true,
      doc: 'requests one after another on streams kept open per point where the point answers several per stream (ours, Go\'s); a point that closes a stream right after its first answer (Rust, Nim), or leaves a stream\'s second request unanswered 3 times in a row, gets a stream per request, remembered per point for 10 minutes; `false`: a stream per request everywhere'
    },
    maxStreamsPerPoint: {
      type: COUNT,
      default: 4,
      doc: 'most streams open to one point at once, kept or not; a request finding them all busy waits for one (within `timeout`), so a burst never opens more streams than the point accepts; a request unanswered for 1 s stops counting here (twice this many streams at most), so requests hung at a point do not hold up the others'
    },
    streamIdleTimeout: {
      type: TIMER,
      // well under the 150 s a server of ours waits for the next request
      default: 30_000,
      doc: 'how long a kept stream may go unused before the client closes it, ms (a server of ours waits 150 s)'
    }
  }
}

/** Every default of the client's options */
export const CLIENT_DEFAULTS = defaultsOf(CLIENT_OPTIONS) as Readonly<ClientConfig>

/** Checks the client's options and applies the defaults */
export function resolveClientConfig (init: RendezvousClientInit = {}): ClientConfig {
  return checkOptions(CLIENT_OPTIONS, init)
}
