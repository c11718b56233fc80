/**
 * The cells that fail because of what another implementation does, each with the reason read from its source
 * (rust-libp2p `libp2p` 0.57 / `libp2p-rendezvous` 0.18; waku-org/go-libp2p-rendezvous a67d1cc). A failing cell not
 * listed here fails the matrix; docs/interop.md explains each one.
 */
import type { Scenario } from './scenarios.ts'
import type { Implementation } from '../fixtures/peer-process.ts'

type Key = `${Implementation}>${Implementation}`

const RUST_MIN_TTL = 'a rust-libp2p point refuses a TTL under its 2 h minimum with E_INVALID_TTL, and Rust\'s client does not retry'
const GO_ALL_NS = 'a Go point writes every registration of a DISCOVER_RESPONSE with the namespace of the last one (the module is built with Go 1.19 loop-variable semantics: `rreg.Ns = &reg.Ns` in newDiscoverResponse), so a query of all namespaces mislabels them'
const RUST_OPENS_LEGACY_ONLY = 'a rust-libp2p point opens only legacy records (domain libp2p-routing-state); it drops the stream of Go\'s standard REGISTER without a reply'
const GO_SKIPS_LEGACY = 'a rust-libp2p point holds only legacy records, which Go\'s client cannot open and skips (it logs "Invalid peer info")'
const GO_OPENS_STANDARD_ONLY = 'a Go point opens only standard records (domain libp2p-peer-record) and answers Rust\'s legacy REGISTER E_INVALID_SIGNED_PEER_RECORD'
const RUST_CANNOT_READ_GO = 'Rust\'s client fails a whole DISCOVER_RESPONSE from a Go point: the records are standard (Rust opens only legacy), Go\'s 40-byte cookie ends in a SHA-256 that is not UTF-8 (Rust reads a cookie\'s tail as a UTF-8 namespace), and an empty first page has no cookie at all (Rust requires one)'
const NEEDS_REGISTRATION = 'needs the client\'s own registration, which this point refuses (see register)'

const LIMITS: Partial<Record<Key, Partial<Record<Scenario, string>>>> = {
  'rust>rust': {
    'ttl 3600': RUST_MIN_TTL
  },
  'go>rust': {
    register: RUST_OPENS_LEGACY_ONLY,
    'ttl 3600': RUST_OPENS_LEGACY_ONLY,
    discover: GO_SKIPS_LEGACY,
    paging: GO_SKIPS_LEGACY,
    'all ns': GO_SKIPS_LEGACY,
    unregister: NEEDS_REGISTRATION,
    DiscoverAsync: `${GO_SKIPS_LEGACY}; besides, a rust-libp2p point serves one request per stream (request-response), so DiscoverAsync's second DISCOVER on its stream ends it and its channel closes`
  },
  'js>go': {
    'all ns': GO_ALL_NS
  },
  'go>go': {
    'all ns': GO_ALL_NS
  },
  'rust>go': {
    register: GO_OPENS_STANDARD_ONLY,
    'ttl 3600': GO_OPENS_STANDARD_ONLY,
    discover: RUST_CANNOT_READ_GO,
    paging: RUST_CANNOT_READ_GO,
    'all ns': RUST_CANNOT_READ_GO,
    unregister: NEEDS_REGISTRATION
  }
}

export function explanationOf (client: Implementation, server: Implementation, scenario: Scenario): string | undefined {
  return LIMITS[`${client}>${server}`]?.[scenario]
}
