import type { RegistrationStore } from './store/registration-store.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export interface RendezvousServerInit {
  /**
   * Where registrations live.
   *
   * @default a new `memoryRegistrationStore()`
   */
  store?: RegistrationStore
  /**
   * Shortest TTL accepted, in seconds.
   *
   * @default 7200 (2 h, the spec's recommendation)
   */
  minTtl?: number
  /**
   * Longest TTL accepted, in seconds; at most 259200.
   *
   * @default 259200 (72 h, the spec's maximum)
   */
  maxTtl?: number
  /**
   * TTL given to a REGISTER without one, in seconds; must lie within [minTtl, maxTtl].
   *
   * @default 7200 (2 h, the spec's; when not set, kept between `minTtl` and `maxTtl`)
   */
  defaultTtl?: number
  /**
   * What a REGISTER asking for less than `minTtl` gets: `'clamp'` registers it for `minTtl` (and says so in the
   * reply's TTL), `'reject'` answers E_INVALID_TTL. Go's client accepts TTLs from 120 s and never retries a
   * refusal, so the default is `'clamp'`. A TTL above `maxTtl` is always refused.
   *
   * @default 'clamp'
   */
  ttlBelowMin?: 'clamp' | 'reject'
  /**
   * Longest namespace accepted, in UTF-8 bytes.
   *
   * @default 255 (the spec)
   */
  maxNamespaceLength?: number
  /**
   * Live registrations one peer may hold; refreshing one of them is always allowed.
   *
   * @default 1000 (the spec)
   */
  maxRegistrationsPerPeer?: number
  /**
   * Live registrations the server holds in all; beyond it REGISTER gets E_UNAVAILABLE.
   *
   * @default 1000000
   */
  maxRegistrationsTotal?: number
  /**
   * Most registrations in one DISCOVER_RESPONSE; also used when a DISCOVER asks for none or 0.
   *
   * @default 1000 (the spec)
   */
  maxDiscoverLimit?: number
  /**
   * Largest request read, in bytes; a larger frame is refused before it is read.
   *
   * @default 16384
   */
  maxRequestSize?: number
  /**
   * Largest DISCOVER_RESPONSE written, in bytes; a page is cut short to fit.
   *
   * @default 1048576
   */
  maxResponseSize?: number
  /**
   * Largest signed peer record accepted, in bytes; a larger one gets E_INVALID_SIGNED_PEER_RECORD. It must fit in
   * a DISCOVER_RESPONSE on its own (with a namespace of `maxNamespaceLength`) and in a request.
   *
   * @default 4096 (lowered to fit `maxRequestSize` and `maxResponseSize` when those are set low)
   */
  maxRecordSize?: number
  /**
   * Most addresses a registered peer record may list; a record with more gets E_INVALID_SIGNED_PEER_RECORD.
   *
   * @default 64
   */
  maxRecordAddresses?: number
  /**
   * Streams served at once per connection.
   *
   * @default 32
   */
  maxInboundStreams?: number
  /**
   * Requests being processed at once, all peers together; beyond it requests get E_UNAVAILABLE. A DISCOVER that
   * waits for its requester's identify (to tell a rust-libp2p reader) is not counted while it waits: as many again
   * may wait, at most 16 of one peer, and past that they are answered without waiting.
   *
   * @default 256
   */
  maxConcurrentRequests?: number
  /**
   * Time allowed to read a request, handle it and write the reply, in ms, at most 2^31 - 1; a store that has not
   * answered by 80% of it gets the request an E_UNAVAILABLE reply. A sweep of expired registrations that has not
   * finished by then is given up (the next one goes on).
   *
   * @default 10000
   */
  timeout?: number
  /**
   * Time a stream may stay silent after a reply before the client's next request starts, in ms, at most 2^31 - 1;
   * then it is reset.
   *
   * @default 150000 (Go's `DiscoverAsync` asks again on the same stream every 120 s)
   */
  streamIdleTimeout?: number
  /**
   * Requests answered on one stream; after the last reply the server closes its side.
   *
   * @default 1000
   */
  maxRequestsPerStream?: number
  /**
   * Bytes of DISCOVER replies written and not yet taken by their peers, all peers together. A reply is charged from
   * when it is encoded until its bytes have left for the connection (or its stream ends: a reader that stops reading
   * has its stream reset at `timeout`, which gives its bytes back); a DISCOVER whose reply does not fit gets
   * E_UNAVAILABLE. At least `maxReplyBytesPerPeer`.
   *
   * @default 67108864 (64 MiB; raised to `maxReplyBytesPerPeer` when that is set higher)
   */
  maxReplyBytes?: number
  /**
   * Bytes of DISCOVER replies written and not yet taken by one peer; past it that peer's DISCOVERs get E_UNAVAILABLE.
   * At least `maxResponseSize`, so that a full page can always be sent.
   *
   * @default 4194304 (4 MiB, four full pages; raised to `maxResponseSize` when that is set higher)
   */
  maxReplyBytesPerPeer?: number
  /**
   * Signed peer records remembered after their signature check, by their bytes, so that the same record sent again
   * (in another namespace, or to refresh) is not checked again; the least recently used is forgotten first. Each
   * takes about 3 KiB (an Ed25519 record with two addresses). 0 checks every record.
   *
   * @default 5000
   */
  verifiedRecordCacheSize?: number
  /**
   * How often expired registrations are removed from the store, in ms, at most 2^31 - 1.
   *
   * @default 60000
   */
  sweepInterval?: number
  /**
   * Serve requests that arrive over limited (relayed) connections.
   *
   * @default true
   */
  runOnLimitedConnection?: boolean
  /**
   * Protocol ids to serve, each starting with `/`.
   *
   * @default ['/rendezvous/1.0.0']
   */
  protocols?: string[]
}

/** What the server needs of the node */
export interface RendezvousServerComponents {
  registrar: Registrar
  logger: ComponentLogger
  metrics?: Metrics
  /** To read a requester's agent version (identify's), so that a rust-libp2p client is sent only records it can parse */
  peerStore?: PeerStore
  events?: TypedEventTarget<Libp2pEvents>
}

/** A rendezvous point as it is seen under `node.services` */
export interface RendezvousServerService {
  /** Every option, with its default applied */
  readonly config: Readonly<Required<Omit<RendezvousServerInit, 'store'>>>
  /** Where the registrations live */
  readonly store: RegistrationStore
  /**
   * Removes expired registrations now (the server also does so every `sweepInterval`); resolves with how many it
   * removed. Expired registrations are never returned meanwhile.
   */
  sweep(): Promise<number>
}
