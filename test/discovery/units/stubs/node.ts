/**
 * A node without a network for unit tests: the libp2p components the discovery units use (connection manager,
 * peer store, address and transport managers, registrar, events, logger), each reduced to what the units call,
 * recording what was done to it. Connections open and close when the test says so, or when a unit dials and
 * `dial` lets it.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { PeerMap } from '@libp2p/peer-collections'
import type { Clock } from '../../../../src/discovery/clock.ts'
import type { AbortOptions, Connection, Libp2pEvents, Listener, PeerId, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface StubConnection {
  remotePeer: PeerId
  status: 'open' | 'closed'
  direction: 'inbound' | 'outbound'
  timeline: { open: number }
}

export class StubListener extends TypedEventEmitter<any> {
  closed = false

  async close (): Promise<void> {
    this.closed = true
  }
}

export class StubNode {
  readonly peerId: PeerId
  readonly clock: Clock
  readonly events = new TypedEventEmitter<Libp2pEvents>()
  readonly logger = defaultLogger()
  connections: StubConnection[] = []
  maxConnections = 100
  addresses: Multiaddr[] = []
  listenAddrs: Multiaddr[] = []
  protocols: string[] = []
  listeners: StubListener[] = []
  /** What the node's transports can listen on */
  transports: Array<Pick<Transport, 'listenFilter'>> = []
  /** Peers a unit asked to dial, in order */
  readonly dialed: PeerId[] = []
  /** Tags set on peers through the peer store */
  readonly tags = new PeerMap<Map<string, number>>()
  /** Signed records stored through the peer store, by the peer they are expected to be of */
  readonly records: PeerId[] = []
  /** Decides how a dial ends: resolve to connect, throw to fail. Default: connects at once */
  dial: (peer: PeerId, options: AbortOptions) => Promise<void> | void = () => {}

  constructor (peerId: PeerId, clock: Clock) {
    this.peerId = peerId
    this.clock = clock
  }

  /** Opens a connection to `peer` (a dial of ours, or theirs) and says so, as libp2p does */
  connect (peer: PeerId, direction: 'inbound' | 'outbound' = 'inbound'): void {
    this.connections.push({ remotePeer: peer, status: 'open', direction, timeline: { open: this.clock.now() } })
    this.events.safeDispatchEvent('peer:connect', { detail: peer })
  }

  disconnect (peer: PeerId): void {
    this.connections = this.connections.filter(c => !c.remotePeer.equals(peer))
    this.events.safeDispatchEvent('peer:disconnect', { detail: peer })
  }

  isConnected (peer: PeerId): boolean {
    return this.connections.some(c => c.remotePeer.equals(peer))
  }

  readonly connectionManager = {
    getConnections: (): Connection[] => this.connections as unknown as Connection[],
    getMaxConnections: (): number => this.maxConnections,
    openConnection: async (peer: PeerId | Multiaddr | Multiaddr[], options: AbortOptions = {}): Promise<Connection> => {
      const peerId = peer as PeerId
      this.dialed.push(peerId)
      await this.dial(peerId, options)
      options.signal?.throwIfAborted()

      if (!this.isConnected(peerId)) {
        this.connect(peerId, 'outbound')
      }

      return this.connections.find(c => c.remotePeer.equals(peerId)) as unknown as Connection
    }
  }

  readonly peerStore = {
    merge: async (peer: PeerId, data: { tags?: Record<string, { value?: number } | undefined> }): Promise<any> => {
      const tags = this.tags.get(peer) ?? new Map<string, number>()

      for (const [name, tag] of Object.entries(data.tags ?? {})) {
        if (tag == null) {
          tags.delete(name)
        } else {
          tags.set(name, tag.value ?? 0)
        }
      }

      this.tags.set(peer, tags)
      return {}
    },
    consumePeerRecord: async (_record: Uint8Array, options?: { expectedPeer?: PeerId }): Promise<boolean> => {
      if (options?.expectedPeer != null) {
        this.records.push(options.expectedPeer)
      }

      return true
    }
  }

  readonly addressManager = {
    getAddresses: (): Multiaddr[] => this.addresses,
    getAddressesWithMetadata: (): any[] => this.addresses.map(multiaddr => ({ multiaddr, verified: false })),
    getListenAddrs: (): Multiaddr[] => this.listenAddrs
  }

  readonly registrar = {
    getProtocols: (): string[] => this.protocols
  }

  readonly transportManager = {
    listen: async (addrs: Multiaddr[]): Promise<void> => {
      if (!this.transports.some(t => t.listenFilter(addrs).length > 0)) {
        throw new Error('no transport listens on ' + addrs.map(String).join(', '))
      }

      this.listeners.push(...addrs.map(() => new StubListener()))
    },
    getListeners: (): Listener[] => this.listeners.filter(l => !l.closed) as unknown as Listener[],
    getTransports: (): Transport[] => this.transports as Transport[]
  }

  /** Tag names on a peer */
  tagsOf (peer: PeerId): string[] {
    return [...(this.tags.get(peer)?.keys() ?? [])]
  }
}
