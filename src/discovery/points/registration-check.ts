/**
 * Whether a point still lists the node under a namespace: when a point comes back after failing or a closed
 * connection, one DISCOVER shows whether it lost the node's registrations (a restart with an empty store), rather
 * than sending every REGISTER again on every reconnect.
 */
import { isFullPage } from './query-schedule.ts'
import type { Point } from './point.ts'
import type { RendezvousClient } from '../../client/types.ts'
import type { PeerId } from '@libp2p/interface'

/** Most DISCOVER pages read to find the node's own registration at a point that came back */
const MAX_CHECK_PAGES = 10

export interface RegistrationCheck {
  client: Pick<RendezvousClient, 'discover'>
  /** This node */
  self: PeerId
  /** Registrations asked per page */
  limit: number
  signal?: AbortSignal
}

/** Whether `point` lists the node under `ns`, reading at most a few pages from the start */
export async function pointListsNode (point: Point, ns: string, { client, self, limit, signal }: RegistrationCheck): Promise<boolean> {
  let cookie: Uint8Array | null = null

  for (let page = 0; page < MAX_CHECK_PAGES; page++) {
    const result = await client.discover(point.multiaddr, ns, { limit, cookie, signal })

    if (result.registrations.some(r => r.peerId.equals(self))) {
      return true
    }

    if (!isFullPage(result, limit)) {
      return false
    }

    cookie = result.cookie ?? null
  }

  return false
}
