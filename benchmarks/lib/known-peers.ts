/**
 * What `@libp2p/bootstrap` does, for any transport: on start, put the given peers in the peer store (tagged like
 * bootstrap peers), announce them and dial them at once.
 *
 * `@libp2p/bootstrap@12` itself cannot be used here: its address filter (`P2P.matches`) rejects `/memory/...`
 * addresses as "invalid multiaddr", so on the memory transport it never dials anything.
 */
import { TypedEventEmitter, peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, PeerDiscovery, PeerDiscoveryEvents, PeerInfo, PeerStore, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface KnownPeersComponents {
  peerStore: PeerStore
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

class KnownPeers extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'bench-known-peers'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']
  private readonly components: KnownPeersComponents
  private readonly peers: PeerInfo[]
  private running = false

  constructor (components: KnownPeersComponents, addresses: string[]) {
    super()
    this.components = components
    this.peers = addresses.map(address => {
      const ma = multiaddr(address)
      const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
      if (id == null) {
        throw new Error(`known peer address without /p2p: ${address}`)
      }
      return { id: peerIdFromString(id), multiaddrs: [ma] }
    })
  }

  start (): void {
    this.running = true
  }

  afterStart (): void {
    void Promise.all(this.peers.map(async peer => {
      await this.components.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs, tags: { bootstrap: { value: 50 } } })
      if (!this.running) {
        return
      }
      this.safeDispatchEvent('peer', { detail: peer })
      await this.components.connectionManager.openConnection(peer.id)
    })).catch(() => {})
  }

  stop (): void {
    this.running = false
  }
}

export function knownPeers (addresses: string[]): (components: KnownPeersComponents) => PeerDiscovery {
  return (components) => new KnownPeers(components, addresses)
}
