/**
 * Protocol identifiers, the spec's limits and this package's defaults, in one place.
 *
 * Times on the wire are seconds (the spec's unit); times in options are documented per option.
 */

/** The rendezvous protocol id (libp2p/specs rendezvous/README.md) */
export const PROTOCOL = '/rendezvous/1.0.0'

/** Spec: a registration without a TTL lives 2 hours */
export const DEFAULT_TTL_SECONDS = 2 * 60 * 60

/** Spec recommendation: rendezvous points should not accept TTLs under 2 hours */
export const MIN_TTL_SECONDS = 2 * 60 * 60

/** Spec: the TTL may be at most 72 hours */
export const MAX_TTL_SECONDS = 72 * 60 * 60

/** Spec recommendation: namespaces are at most 255 bytes (counted here in UTF-8 bytes, as Rust and Go do) */
export const MAX_NAMESPACE_LENGTH = 255

/** Spec recommendation: at most 1000 registrations per peer */
export const MAX_REGISTRATIONS_PER_PEER = 1000

/** Not in the spec: a bound on the whole store so that one server cannot be filled without limit */
export const MAX_REGISTRATIONS_TOTAL = 1_000_000

/** Spec recommendation: at most 1000 registrations returned per DISCOVER */
export const MAX_DISCOVER_LIMIT = 1000

/**
 * The largest request a server reads. A REGISTER carries one signed peer record: an Ed25519 record with a
 * handful of addresses is ~200 bytes and an RSA-2048 one ~600, so 16 KiB leaves room for many addresses
 * while keeping a hostile frame small.
 */
export const MAX_REQUEST_SIZE = 16 * 1024

/**
 * The largest signed peer record a server keeps, well below the request size: an RSA-2048 record with 40
 * addresses is ~2.5 KiB, and go-libp2p's identify trims a node's own record to 4 KiB too. A record is held in
 * memory (or a table) for its whole TTL and sent in every DISCOVER page that lists it, so its size bounds what
 * the store costs.
 */
export const MAX_RECORD_SIZE = 4 * 1024

/** The most addresses a registered peer record may list; each is a dial a discovering peer may try */
export const MAX_RECORD_ADDRESSES = 64

/** The memory store's byte budget for all registrations, their peers and namespaces: 1 GiB (see docs/server.md) */
export const DEFAULT_MEMORY_STORE_MAX_BYTES = 1024 * 1024 * 1024

/** The memory store's byte budget for one peer and its registrations: 2 MiB, the spec's 1000 registrations of 1.6 KiB records */
export const DEFAULT_MEMORY_STORE_MAX_BYTES_PER_PEER = 2 * 1024 * 1024

/** Most expired registrations the memory store removes without yielding to the event loop (about 2 ms of work) */
export const DEFAULT_SWEEP_SLICE = 1000

/** The longest delay Node and browsers take for a timer (2^31 - 1 ms, about 24.8 days); longer ones fire at once */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The largest DISCOVER_RESPONSE a server writes and a client reads: 1000 registrations of ~1 KiB fit.
 * Rust caps messages at 1 MiB too, so a Rust client can read every page a server of ours sends.
 */
export const MAX_RESPONSE_SIZE = 1024 * 1024

/** How long one request/response exchange may take, either side */
export const DEFAULT_TIMEOUT_MS = 10_000

/**
 * How long a server keeps a stream open after a reply, waiting for the client's next request on it. Go's
 * `DiscoverAsync` asks again every 120 s on one stream; a shorter wait would end its discovery after one page.
 */
export const STREAM_IDLE_TIMEOUT_MS = 150_000

/** Requests a server answers on one stream before it closes its side: 33 hours of Go's `DiscoverAsync` polls */
export const MAX_REQUESTS_PER_STREAM = 1000

/** Every cookie we issue is at least this long (the Rust client rejects shorter ones) */
export const MIN_COOKIE_LENGTH = 8

/** Cookies we accept are at most this long; anything larger is not ours */
export const MAX_COOKIE_LENGTH = 1024

/** A client drops a discovered registration whose TTL claims more than the spec allows */
export const MAX_DISCOVERED_TTL_SECONDS = MAX_TTL_SECONDS

/** The namespace relays register under and nodes that need a relay discover (the convention of Go and Rust nodes) */
export const RELAY_NAMESPACE = '/libp2p/relay'
