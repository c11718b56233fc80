/**
 * The points in the peer store: each configured point's address is stored (so that libp2p can dial it by peer
 * id) and, with `keepAlivePoints`, the point is tagged `keep-alive-rendezvous` while the module runs, so that the
 * connection manager keeps the connection the module's requests and relay reservations go over.
 */
import { CODE_P2P } from '@multiformats/multiaddr'
import { TAG_NAMES } from '../constants.ts'
import type { Point } from './point.ts'
import type { ResolvedOptions } from '../config.ts'
import type { Logger, PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type PointTagsOptions = Pick<ResolvedOptions, 'keepAlivePoints' | 'tags'>

export class PointTags {
  private readonly peerStore: Pick<PeerStore, 'merge'>
  private readonly options: PointTagsOptions
  private readonly log: Logger

  constructor (peerStore: Pick<PeerStore, 'merge'>, options: PointTagsOptions, log: Logger) {
    this.peerStore = peerStore
    this.options = options
    this.log = log
  }

  /** Stores the point's address and (un)tags it `keep-alive-rendezvous`; never rejects */
  async tag (point: Point, keep: boolean): Promise<void> {
    const addr = stripPeerId(point.multiaddr)
    const tags = this.options.keepAlivePoints ? { [TAG_NAMES.point]: keep ? { value: this.options.tags.point } : undefined } : {}

    try {
      await this.peerStore.merge(point.peerId, keep ? { multiaddrs: addr == null ? [] : [addr], tags } : { tags })
    } catch (err: any) {
      this.log('could not tag rendezvous point %s - %e', point.id, err)
    }
  }
}

function stripPeerId (ma: Multiaddr): Multiaddr | undefined {
  const stripped = ma.decapsulateCode(CODE_P2P)
  return stripped.toString() === '/' ? undefined : stripped
}
