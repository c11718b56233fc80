/**
 * Reads what the namespace derivation needs from a running node: pubsub topics (local subscribe emits no event,
 * so this is polled), whether the node runs a relay server, and whether it needs relays.
 */
import { getNetConfig, isLinkLocal, isLoopback, isPrivate } from '@libp2p/utils'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { RELAY_HOP_PROTOCOL } from './options.ts'
import type { NodeState, RelayMode } from './options.ts'
import type { PeerId } from '@libp2p/interface'
import type { AddressManager, Registrar } from '@libp2p/interface-internal'
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
export function hasPublicAddress (addressManager: AddressManager): boolean {
  return addressManager.getAddressesWithMetadata()
    .some(addr => addr.verified && isPublicAddress(addr.multiaddr))
}

export function needsRelay (mode: RelayMode, addressManager: AddressManager): boolean {
  if (mode === 'always') {
    return true
  }

  if (mode === 'never') {
    return false
  }

  return !hasPublicAddress(addressManager)
}

/** The node runs a circuit relay v2 server when something handles the hop protocol */
export function runsRelay (registrar: Registrar): boolean {
  return registrar.getProtocols().includes(RELAY_HOP_PROTOCOL)
}

export interface NodeStateComponents {
  addressManager: AddressManager
  registrar: Registrar
}

export function readNodeState (components: NodeStateComponents, pubsub: PubSubLike | undefined, mode: RelayMode): NodeState {
  let topics: string[] = []

  try {
    topics = pubsub?.getTopics() ?? []
  } catch {
    // pubsub that has not started yet or has stopped throws; it has no topics then
  }

  return {
    topics: [...new Set(topics)].sort(),
    hasPubsub: pubsub != null,
    runsRelay: runsRelay(components.registrar),
    needsRelay: needsRelay(mode, components.addressManager),
    addresses: components.addressManager.getAddresses()
  }
}
