/**
 * Reads what the namespace derivation needs from a running node: pubsub topics, whether the node runs a relay
 * server, whether it needs relays, and its addresses. Pure reads: when to read is the watcher's business
 * (watcher.ts).
 */
import { getNetConfig, isLinkLocal, isLoopback, isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { RELAY_HOP_PROTOCOL } from '../constants.ts'
import type { NodeState, RelayMode } from '../options.ts'
import type { PeerId } from '@libp2p/interface'
import type { AddressManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The part of a pubsub service the module uses (gossipsub and floodsub both have it) */
export interface PubSubLike {
  getTopics(): string[]
  getSubscribers(topic: string): PeerId[]
}

export function isPubSubLike (value: unknown): value is PubSubLike {
  return value != null &&
    typeof (value as any).getTopics === 'function' &&
    typeof (value as any).getSubscribers === 'function'
}

/**
 * An address others can reach without a relay: an IP that is neither private, loopback nor link-local, or a
 * DNS name other than localhost. Circuit, memory, unix and other addresses are not.
 */
export function isPublicAddress (ma: Multiaddr): boolean {
  if (Circuit.matches(ma)) {
    return false
  }

  try {
    const config = getNetConfig(ma)

    if (config.type === 'ip4' || config.type === 'ip6') {
      return !isPrivate(ma) && !isLoopback(ma) && !isLinkLocal(ma)
    }

    return config.host !== 'localhost' && !config.host.endsWith('.localhost')
  } catch {
    return false
  }
}

/** True when the address manager knows a public, verified, direct address of the node */
export function hasPublicAddress (addressManager: Pick<AddressManager, 'getAddressesWithMetadata'>): boolean {
  return addressManager.getAddressesWithMetadata()
    .some(addr => addr.verified && isPublicAddress(addr.multiaddr))
}

/** Addresses others dial without a relay (whether they can reach them is another matter) */
export function directAddresses (addresses: Multiaddr[]): Multiaddr[] {
  return addresses.filter(ma => !Circuit.matches(ma))
}

/**
 * Whether the node needs relays. In `auto` mode a node with a public, verified, direct address does not; nor does
 * a node with a direct address when every rendezvous point is itself on a private network (loopback, private or
 * link-local IPs, memory): the peers that meet there share that network and can dial the node's direct
 * address, so a relay slot would only cost the relay.
 */
export function needsRelay (mode: RelayMode, addressManager: Pick<AddressManager, 'getAddressesWithMetadata'>, addresses: Multiaddr[], points: Multiaddr[]): boolean {
  if (mode === 'always') {
    return true
  }

  if (mode === 'never') {
    return false
  }

  if (hasPublicAddress(addressManager)) {
    return false
  }

  const privatePoints = points.length > 0 && points.every(point => !isPublicAddress(point))
  return !(privatePoints && directAddresses(addresses).length > 0)
}

/** The node runs a circuit relay v2 server when something handles the hop protocol */
export function runsRelay (registrar: Pick<Registrar, 'getProtocols'>): boolean {
  return registrar.getProtocols().includes(RELAY_HOP_PROTOCOL)
}

const CIRCUIT_LISTEN = multiaddr('/p2p-circuit')

/** True when some transport can listen on `/p2p-circuit`, i.e. make relay reservations (circuitRelayTransport) */
export function canListenOnRelays (transportManager: Pick<TransportManager, 'getTransports'>): boolean {
  return transportManager.getTransports().some(transport => {
    try {
      return transport.listenFilter([CIRCUIT_LISTEN]).length > 0
    } catch {
      return false
    }
  })
}

export interface NodeStateComponents {
  addressManager: Pick<AddressManager, 'getAddresses' | 'getAddressesWithMetadata'>
  registrar: Pick<Registrar, 'getProtocols'>
}

export function readNodeState (components: NodeStateComponents, pubsub: PubSubLike | undefined, mode: RelayMode, points: Multiaddr[]): NodeState {
  let topics: string[] = []

  try {
    topics = pubsub?.getTopics() ?? []
  } catch {
    // pubsub that has not started yet or has stopped throws; it has no topics then
  }

  const addresses = components.addressManager.getAddresses()

  return {
    topics: [...new Set(topics)].sort(),
    hasPubsub: pubsub != null,
    runsRelay: runsRelay(components.registrar),
    needsRelay: needsRelay(mode, components.addressManager, addresses, points),
    addresses
  }
}
