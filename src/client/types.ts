import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A rendezvous point: its peer id (addresses from the peer store), or its multiaddr(s) including `/p2p/<id>` */
export type RendezvousPoint = PeerId | Multiaddr | Multiaddr[]

export interface RendezvousClientInit {
  /** Time allowed for one exchange (dial, request, response), in ms. Default: 10000 */
  timeout?: number
  /** Largest response read, in bytes. Default: 1048576 */
  maxResponseSize?: number
  /** Open streams over limited (relayed) connections. Default: true */
  runOnLimitedConnection?: boolean
  /** Protocol id to speak. Default: `/rendezvous/1.0.0` */
  protocol?: string
  /** Discover cookies kept, one per (point, namespace); the least recently used is forgotten first. Default: 1024 */
  maxCookies?: number
  /** Most DISCOVER requests one `discoverAll` walk sends before it stops, against points that never run dry. Default: 100 */
  maxDiscoverPages?: number
}

export interface RegisterOptions extends AbortOptions {
  /**
   * Requested TTL in seconds. Default: omitted, so the point applies its default (2 h in the spec). Never sent as 0.
   * When the point answers E_INVALID_TTL, the client retries once without it.
   */
  ttl?: number
  /** Addresses to put in the signed record. Default: the node's own addresses (`addressManager.getAddresses()`) */
  multiaddrs?: Multiaddr[]
}

export interface DiscoverOptions extends AbortOptions {
  /** Most registrations wanted. Default: omitted (the point's own maximum). Never sent as 0 */
  limit?: number
  /**
   * The cookie to continue from. Default: the cookie this client last received from this point for this
   * namespace, so repeated calls return only what is new. Pass `null` to start from the beginning.
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
