/**
 * One DISCOVER walk of a namespace at several points, from the start, for `discover()`: every page of each point,
 * with cookies of its own (the module's queries never see them), the newest record of each peer kept.
 */
import { PeerMap } from '@libp2p/peer-collections'
import { NoRendezvousPointsError } from '../../errors.ts'
import { isNewerRecord } from '../peers/peer-intake.ts'
import type { Point } from './point.ts'
import type { DiscoveredRegistration, RendezvousClient } from '../../client/types.ts'
import type { AbortOptions } from '@libp2p/interface'

export interface DiscoverOnceOptions extends AbortOptions {
  /** Most registrations asked of each point per page */
  limit: number
}

/** The registrations under `ns` at `points`; rejects only when no point answered */
export async function discoverOnce (client: Pick<RendezvousClient, 'discoverAll'>, points: Point[], ns: string, options: DiscoverOnceOptions): Promise<DiscoveredRegistration[]> {
  const byPeer = new PeerMap<DiscoveredRegistration>()
  const errors: string[] = []

  await Promise.all(points.map(async point => {
    try {
      // cookie null: from the start, and the walk's cookies stay with this call
      for await (const registration of client.discoverAll(point.multiaddr, ns, { limit: options.limit, cookie: null, signal: options.signal })) {
        if (isNewerRecord(registration.seqNumber, byPeer.get(registration.peerId)?.seqNumber)) {
          byPeer.set(registration.peerId, registration)
        }
      }
    } catch (err: any) {
      errors.push(`${point.id}: ${err?.message ?? err}`)
    }
  }))

  if (errors.length === points.length) {
    throw new NoRendezvousPointsError(`no rendezvous point answered: ${errors.join('; ')}`)
  }

  return [...byPeer.values()]
}
