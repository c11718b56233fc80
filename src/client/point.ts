/**
 * Turns the ways a caller can name a rendezvous point into what the client needs: a dial target for the
 * connection manager, and a stable identity (the point's peer id) to key cookies on.
 */
import { InvalidParametersError, isPeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, CODE_P2P_CIRCUIT, isMultiaddr } from '@multiformats/multiaddr'
import { NoRendezvousPointsError } from '../errors.ts'
import type { RendezvousPoint } from './types.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ResolvedPoint {
  /** What `connectionManager.openStream` dials */
  target: PeerId | Multiaddr | Multiaddr[]
  /** The point's peer id as a string: the same point named by PeerId or by multiaddr gets the same id */
  id: string
}

/**
 * The peer a multiaddr ends at: its last `/p2p/` component, provided no `/p2p-circuit` follows it (in
 * `/…/p2p/RELAY/p2p-circuit` the peer named is the relay, not the destination).
 */
export function peerIdOfMultiaddr (ma: Multiaddr): PeerId | undefined {
  const components = ma.getComponents()

  for (let i = components.length - 1; i >= 0; i--) {
    const { code, value } = components[i]

    if (code === CODE_P2P_CIRCUIT) {
      return undefined
    }

    if (code === CODE_P2P && value != null) {
      try {
        return peerIdFromString(value)
      } catch {
        return undefined
      }
    }
  }

  return undefined
}

/** Checks a rendezvous point and works out its identity; throws a clear error for anything unusable */
export function resolvePoint (point: RendezvousPoint): ResolvedPoint {
  if (point == null) {
    throw new NoRendezvousPointsError('no rendezvous point given')
  }

  if (isPeerId(point)) {
    return { target: point, id: point.toString() }
  }

  const multiaddrs: unknown[] = Array.isArray(point) ? point : [point]

  if (multiaddrs.length === 0) {
    throw new NoRendezvousPointsError('no rendezvous point given: the list of multiaddrs is empty')
  }

  let id: string | undefined

  for (const ma of multiaddrs) {
    if (!isMultiaddr(ma)) {
      throw new InvalidParametersError(`a rendezvous point is a PeerId, a Multiaddr or a Multiaddr[], got ${String(ma)}`)
    }

    const peerId = peerIdOfMultiaddr(ma)

    if (peerId == null) {
      throw new InvalidParametersError(`the rendezvous point address ${ma.toString()} does not end with /p2p/<peer id>, which is needed to check who answers`)
    }

    if (id != null && id !== peerId.toString()) {
      throw new InvalidParametersError(`the rendezvous point addresses name different peers (${id} and ${peerId.toString()})`)
    }

    id = peerId.toString()
  }

  return { target: point, id: id ?? '' }
}
