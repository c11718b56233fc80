import type { RegistrationStore } from './store/registration-store.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

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
  /**
   * Rendezvous points this point joins a network of points through: multiaddrs (or their strings) that end with
   * `/p2p/<peer id>`. The point registers its own signed record under `/libp2p/rendezvous` (`POINTS_NAMESPACE`) at
   * each, keeps that registration fresh, and learns the network's other points from what they list there. Its own
   * address may be in the list (every point of a network can be given the same list); it is skipped. Their peer ids
   * are admitted (see `admitPoints`).
   *
   * @default none
   */
  peerPoints?: Array<string | Multiaddr>
  /**
   * Who may register under `/libp2p/rendezvous` here, besides the peer points: the peer ids of the network's points,
   * a list its operators keep and share as bootstrap lists are kept, or `'any'` (every peer that announces the
   * rendezvous protocol in identify: for closed test networks only, since anyone could then list points of their
   * own). Others get E_NOT_AUTHORIZED. Points learned from other points are used only when admitted here too.
   * With no peer points and an empty list, the point takes no part in a network of points.
   *
   * @default none (the peer points only)
   */
  admitPoints?: 'any' | Array<string | PeerId>
  /**
   * Points learned from other points (or from the registrations under `/libp2p/rendezvous` here) that are kept,
   * beside the peer points; while the set is full, others are ignored until one is dropped.
   *
   * @default 100
   */
  maxLearnedPoints?: number
  /**
   * How often, once settled, the point asks each point it knows for the points it lists, in ms, at most 2^31 - 1.
   * It asks every 1 s at first, doubling the interval each time nothing new comes, up to this; a point that fails
   * is asked again after 1 s, 2 s, 4 s… (at most 5 min), and a learned one is dropped after 3 failures in a row.
   *
   * @default 600000 (10 min)
   */
  pointDiscoverInterval?: number
  /**
   * Namespaces this point lists itself under in its own store: its signed record, for the default TTL, refreshed
   * at half of it and when its addresses change, removed on stop. `rendezvous-server --relay` sets
   * `['/libp2p/relay']`. A point in a network of points also lists itself under `/libp2p/rendezvous`.
   *
   * @default []
   */
  ownNamespaces?: string[]
}

/** What the server needs of the node */
export interface RendezvousServerComponents {
  registrar: Registrar
  logger: ComponentLogger
  metrics?: Metrics
  /** To read a requester's agent version (identify's), so that a rust-libp2p client is sent only records it can parse */
  peerStore?: PeerStore
  events?: TypedEventTarget<Libp2pEvents>
  /** The node's identity and addresses, to sign and keep its own records (`ownNamespaces`, a network of points) */
  peerId?: PeerId
  privateKey?: PrivateKey
  addressManager?: AddressManager
  /** To talk to the other points of a network of points */
  connectionManager?: ConnectionManager
}

/** A point this point knows in a network of points, as `knownPoints()` reports it */
export interface KnownPointStatus {
  peerId: PeerId
  /** Where it is dialled: the configured addresses of a peer point, the signed record's of a learned one */
  multiaddrs: Multiaddr[]
  /** `'peer'`: given in `peerPoints` (never dropped); `'learned'`: learned from a point's list */
  source: 'peer' | 'learned'
  /** Whether this point's registration under `/libp2p/rendezvous` there is live, as far as this point knows */
  announced: boolean
  /** The last REGISTER there was refused (the point does not admit this one): the status text it gave */
  refused?: string
  /** Exchanges with it that failed in a row */
  failures: number
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
  /** The points this point knows in a network of points, peer points first; empty when it is in none */
  knownPoints(): KnownPointStatus[]
}
