/**
 * The points a point knows in its network of points: its peer points (configured, never dropped) and the points it
 * learns (at most `maxLearnedPoints`, each admitted by this point's own rule), by peer id. A learned point that is
 * dropped is remembered with the record seq it was listed with, so that a list that still holds it brings it back
 * only with a newer record (or when it registers here again); its listing in this point's store is removed, so
 * that nodes are not sent to a point that is gone. When and how each point is visited is peer-points.ts's job.
 */
import { InvalidParametersError } from '@libp2p/interface'
import QuickLRU from 'quick-lru'
import { peerIdOfMultiaddr } from '../../client/point.ts'
import { POINTS_NAMESPACE } from '../../constants.ts'
import { KnownPoint } from './known-point.ts'
import type { PointAdmission } from './admission.ts'
import type { KnownPointStatus } from '../options.ts'
import type { RegistrationStore } from '../store/registration-store.ts'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Dropped points remembered, so that a list that still holds one does not bring it back until it registers again */
const MAX_DROPPED_REMEMBERED = 1000

/** The peer points of the configuration, by peer id, without this point itself */
function configuredPoints (peerPoints: Multiaddr[], self: string): Map<string, Multiaddr[]> {
  const byId = new Map<string, Multiaddr[]>()

  for (const ma of peerPoints) {
    const id = peerIdOfMultiaddr(ma)?.toString()

    if (id != null && id !== self) {
      byId.set(id, [...(byId.get(id) ?? []), ma])
    }
  }

  return byId
}

export interface PointSetInit {
  /** This point's own peer id, as a string: never a point of its own set */
  self: string
  peerPoints: Multiaddr[]
  maxLearnedPoints: number
  store: RegistrationStore
  admission: PointAdmission
  log: Logger
}

export class PointSet {
  private readonly init: PointSetInit
  private readonly log: Logger
  private readonly points = new Map<string, KnownPoint>()
  /** The record seq a dropped point was last listed with: a list brings it back only with a newer record */
  private readonly dropped = new QuickLRU<string, bigint>({ maxSize: MAX_DROPPED_REMEMBERED })
  /** Whether "the learned set is full" was logged since it last had room */
  private fullLogged = false

  constructor (init: PointSetInit) {
    this.init = init
    this.log = init.log

    for (const [id, multiaddrs] of configuredPoints(init.peerPoints, init.self)) {
      const peerId = peerIdOfMultiaddr(multiaddrs[0])

      if (peerId == null) {
        throw new InvalidParametersError(`peer point ${multiaddrs[0].toString()} names no peer id`)
      }

      this.points.set(id, new KnownPoint(peerId, multiaddrs, 'peer'))
    }
  }

  get size (): number {
    return this.points.size
  }

  get (id: string): KnownPoint | undefined {
    return this.points.get(id)
  }

  values (): IterableIterator<KnownPoint> {
    return this.points.values()
  }

  /** Every point known, peer points first */
  known (): KnownPointStatus[] {
    const now = Date.now()
    const all = [...this.points.values()]
    return [...all.filter(point => point.source === 'peer'), ...all.filter(point => point.source === 'learned')].map(point => point.status(now))
  }

  /** How many points are known, of each source */
  counts (): { peer: number, learned: number } {
    let peer = 0

    for (const point of this.points.values()) {
      if (point.source === 'peer') {
        peer++
      }
    }

    return { peer, learned: this.points.size - peer }
  }

  /**
   * A point seen in a list: learned when it is new, admitted and there is room. `alive`: it has just registered
   * here, so a drop for not answering is forgotten. Returns the known point, or undefined when it is not kept;
   * a point new to the set is for the caller to visit.
   */
  learn (peerId: PeerId, multiaddrs: Multiaddr[], listedUntil: number, seq: bigint, alive = false): KnownPoint | undefined {
    const id = peerId.toString()

    if (id === this.init.self || multiaddrs.length === 0) {
      return undefined
    }

    const known = this.points.get(id)

    if (known != null) {
      known.listedUntil = Math.max(known.listedUntil, listedUntil)

      if (known.source === 'learned' && seq > known.recordSeq) {
        known.recordSeq = seq
        known.multiaddrs = new KnownPoint(peerId, multiaddrs, 'learned').multiaddrs
      }

      return known
    }

    if (!this.init.admission.admits(id)) {
      this.log.trace('not learning %s: not admitted here', id)
      return undefined
    }

    const droppedSeq = this.dropped.get(id)

    if (!alive && droppedSeq != null && seq <= droppedSeq) {
      return undefined
    }

    if (this.counts().learned >= this.init.maxLearnedPoints) {
      if (!this.fullLogged) {
        this.fullLogged = true
        this.log('the set of learned points is full (%d); %s and others are not learned until one is dropped', this.init.maxLearnedPoints, id)
      }

      return undefined
    }

    const point = new KnownPoint(peerId, multiaddrs, 'learned')
    point.recordSeq = seq
    point.listedUntil = listedUntil
    this.points.set(id, point)
    this.dropped.delete(id)
    this.log('learned point %s', id)
    return point
  }

  /** A learned point that stopped answering, or whose listings ran out: forgotten, and its listing here removed */
  drop (point: KnownPoint, why: string): void {
    this.points.delete(point.id)
    this.dropped.set(point.id, point.recordSeq)
    this.fullLogged = false
    this.log('dropped point %s: %s', point.id, why)
    this.unlist(point)
  }

  /** Removes the point's registration under `/libp2p/rendezvous` from this point's store: nodes would be sent to it */
  unlist (point: KnownPoint): void {
    this.init.store.unregister(point.id, POINTS_NAMESPACE).catch(err => {
      this.log.error('could not remove the listing of %s - %e', point.id, err)
    })
  }
}
