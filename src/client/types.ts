import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A rendezvous point: its peer id (addresses from the peer store), or its multiaddr(s) including `/p2p/<id>` */
export type RendezvousPoint = PeerId | Multiaddr | Multiaddr[]

export interface RendezvousClientInit {
  /**
   * Time allowed for one exchange (dial, request, response), in ms.
   *
   * @default 10000
   */
  timeout?: number
  /**
   * Largest response read, in bytes.
   *
   * @default 1048576
   */
  maxResponseSize?: number
  /**
   * Open streams over limited (relayed) connections.
   *
   * @default true
   */
  runOnLimitedConnection?: boolean
  /**
   * Protocol id to speak.
   *
   * @default '/rendezvous/1.0.0'
   */
  protocol?: string
  /**
   * Discover cookies kept, one per (point, namespace); the least recently used is forgotten first.
   *
   * @default 1024
   */
  maxCookies?: number
  /**
   * Most DISCOVER requests one `discoverAll` walk sends before it stops, against points that never run dry.
   *
   * @default 100
   */
  maxDiscoverPages?: number
  /**
   * The limit a DISCOVER carries when the caller gives none. A limit is always sent: Rust points return every
   * registration when there is none (a reply can pass 1 MiB).
   *
   * @default 1000 (the spec's recommended maximum)
   */
  discoverLimit?: number
  /**
   * How the signed peer record of a REGISTER is sealed. `'standard'` (domain `libp2p-peer-record`) is what Go, JS
   * and Nim points open; `'legacy'` (domain `libp2p-routing-state`) is the only format rust-libp2p points open.
   * `'auto'` sends legacy to a point whose identify agent is `rust-libp2p/…`, standard to the others, switches to
   * legacy only when a point whose agent is not js-libp2p resets a standard REGISTER twice in a row (once can be a
   * transport fault) and takes a legacy one, and remembers per point what worked for 10 minutes.
   *
   * @default 'auto'
   */
  peerRecordFormat?: 'auto' | 'standard' | 'legacy'
  /**
   * Points whose record format (for `peerRecordFormat: 'auto'`) and whose way of serving streams are remembered;
   * the least recently used is forgotten first.
   *
   * @default 1024
   */
  maxRememberedPoints?: number
  /**
   * Send requests one after another on streams kept open per point, when the point answers several requests per
   * stream (ours, Go's); a point that closes a stream after one answer (Rust, Nim) gets a stream per request,
   * remembered per point. `false`: a new stream for every request, at every point.
   *
   * @default true
   */
  reuseStreams?: boolean
  /**
   * Most streams open to one point at once, kept or not. A request that finds them all busy waits for one (within
   * its `timeout`), so that a burst never opens more streams than a point accepts (a js-libp2p point resets the
   * streams of a connection beyond 32 by default). A request unanswered for 1 s no longer counts here, up to twice
   * this many streams in all, so that requests hung at a point (a store stuck on one namespace) do not hold up the
   * others for their whole timeout.
   *
   * @default 4
   */
  maxStreamsPerPoint?: number
  /**
   * ms a kept stream may go unused before it is closed (a server of ours waits 150 s for the next request).
   *
   * @default 30000
   */
  streamIdleTimeout?: number
}

export interface RegisterOptions extends AbortOptions {
  /**
   * Requested TTL in seconds, never sent as 0. When the point answers E_INVALID_TTL, the client retries once
   * without it; when it answers E_INVALID_TTL to a REGISTER without one (the earlier JS server requires a TTL), once
   * with the spec's default of 7200.
   *
   * @default omitted, so the point applies its default (2 h in the spec)
   */
  ttl?: number
  /**
   * Addresses to put in the signed record. When a point refuses the record or closes without a reply, the client
   * retries once with only the widely understood ones (tcp, ws, wss, tls, dns*, quic-v1, p2p-circuit) within 2048
   * bytes, which Nim and Go points take.
   *
   * @default the node's own addresses (`addressManager.getAddresses()`)
   */
  multiaddrs?: Multiaddr[]
}

export interface DiscoverOptions extends AbortOptions {
  /**
   * Most registrations wanted, never sent as 0.
   *
   * @default the client's `discoverLimit` (1000)
   */
  limit?: number
  /**
   * The cookie to continue from; `null` starts from the beginning.
   *
   * @default the cookie this client last received from this point for this namespace, so repeated calls return only what is new
   */
  cookie?: Uint8Array | null
}

/** One verified registration from a DISCOVER_RESPONSE */
export interface DiscoveredRegistration {
  peerId: PeerId
  /** From the signed peer record */
  multiaddrs: Multiaddr[]
  /** The namespace asked for, or the registration's own when the query was for all namespaces */
  namespace: string
  /** Seconds the point says the registration has left (an upper bound: some points send the original TTL) */
  ttl: number
  /** The record's sequence number */
  seqNumber: bigint
  /** The signed envelope, e.g. for `peerStore.consumePeerRecord` */
  signedPeerRecord: Uint8Array
}

export interface DiscoverResult {
  registrations: DiscoveredRegistration[]
  /** The cookie for the next query, when the point sent one */
  cookie?: Uint8Array
  /** How many entries of the response failed verification and were dropped */
  dropped: number
}

export interface RendezvousClient {
  /** Registers the node under `namespace` at `point`; resolves to the TTL granted, in seconds */
  register(point: RendezvousPoint, namespace: string, options?: RegisterOptions): Promise<number>
  /** Removes the node's registration under `namespace` at `point`. The spec gives UNREGISTER no reply */
  unregister(point: RendezvousPoint, namespace: string, options?: AbortOptions): Promise<void>
  /** One DISCOVER: `namespace` undefined asks for every namespace */
  discover(point: RendezvousPoint, namespace?: string, options?: DiscoverOptions): Promise<DiscoverResult>
  /** Pages through DISCOVER with cookies until the point has nothing more, yielding each registration */
  discoverAll(point: RendezvousPoint, namespace?: string, options?: DiscoverOptions): AsyncGenerator<DiscoveredRegistration>
  /** Forgets the cookies kept for `point` (all namespaces), or for one namespace at it */
  resetCookies(point: RendezvousPoint, namespace?: string): void
}
