/**
 * The protocol's numbers: its id, the spec's TTLs and limits, and the bounds this implementation keeps to on the
 * wire. The defaults of the options are in their option tables (server/config.ts, client/config.ts, …), which name
 * these.
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

/** Spec recommendation: at most 1000 registrations returned per DISCOVER */
export const MAX_DISCOVER_LIMIT = 1000

/** The longest delay Node and browsers take for a timer (2^31 - 1 ms, about 24.8 days); longer ones fire at once */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Every cookie we issue is at least this long (the Rust client rejects shorter ones) */
export const MIN_COOKIE_LENGTH = 8

/** Cookies we accept are at most this long; anything larger is not ours */
export const MAX_COOKIE_LENGTH = 1024

/** A client drops a discovered registration whose TTL claims more than the spec allows */
export const MAX_DISCOVERED_TTL_SECONDS = MAX_TTL_SECONDS

/** The namespace relays register under and nodes that need a relay discover (the convention of Go and Rust nodes) */
export const RELAY_NAMESPACE = '/libp2p/relay'

/**
 * The namespace rendezvous points register themselves under, at each other and in their own store, and where
 * points and nodes learn the points of a network (see docs/deployment.md, "A network of points"). A point accepts
 * a REGISTER under it only from the points it admits (`admitPoints`).
 */
export const POINTS_NAMESPACE = '/libp2p/rendezvous'

/**
 * The largest signed peer record a server keeps unless told otherwise, in bytes; every store holds records to it.
 * An RSA-2048 record with 40 addresses is ~2.5 KiB, and go-libp2p's identify trims a node's own record to 4 KiB
 * too; a record is held for its whole TTL and sent in every page that lists it, so its size bounds the store.
 */
export const DEFAULT_MAX_RECORD_SIZE = 4 * 1024
