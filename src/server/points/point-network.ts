/**
 * What the server runs for a network of points, in one place so that the request loop only asks it two things
 * about a REGISTER under `/libp2p/rendezvous` (may this peer register there; it did): the admission rule, which
 * every point applies (a point in no network admits nobody there), and, when the point is in a network (it has
 * peer points or a list of points), its own listing under `/libp2p/rendezvous` and its peer points' work.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { peerIdOfMultiaddr } from '../../client/point.ts'
import { POINTS_NAMESPACE } from '../../constants.ts'
import { SelfRegistration } from '../self-registration.ts'
import { PointAdmission } from './admission.ts'
import { PeerPoints } from './peer-points.ts'
import { PointMetrics } from './point-metrics.ts'
import type { PeerPointsComponents } from './peer-points.ts'
import type { VerifiedPeerRecord } from '../../protocol/peer-record.ts'
import type { ServerConfig } from '../config.ts'
import type { KnownPointStatus, RendezvousServerComponents } from '../options.ts'
import type { RegistrationStore } from '../store/registration-store.ts'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** What a REGISTER handler asks about the namespace of points */
export interface PointRegistrations {
  /** Resolves when the peer may register under `/libp2p/rendezvous`; throws E_NOT_AUTHORIZED saying why not */
  check(peerId: PeerId): Promise<void>
  /** An admitted registration under `/libp2p/rendezvous` was stored, until `listedUntil` (ms since the epoch) */
  registered(record: VerifiedPeerRecord, listedUntil: number): void
}

export interface PointNetworkInit {
  config: ServerConfig
  store: RegistrationStore
  openRecord(envelope: Uint8Array): Promise<VerifiedPeerRecord>
  /** How long a REGISTER under `/libp2p/rendezvous` may wait for identify to report the registrant's protocols, ms */
  identifyWait: number
  log: Logger
}

/** The components a point in a network needs, named when one is missing */
const NEEDED = ['peerId', 'privateKey', 'addressManager', 'connectionManager', 'events'] as const

export class PointNetwork implements PointRegistrations {
  private readonly admission: PointAdmission
  private readonly peerPoints?: PeerPoints
  private readonly listing?: SelfRegistration
  private readonly log: Logger

  constructor (components: RendezvousServerComponents, init: PointNetworkInit) {
    const { config } = init
    this.log = init.log
    const peerPointIds = config.peerPoints.map(ma => peerIdOfMultiaddr(ma)?.toString()).filter(id => id != null)
    const inNetwork = peerPointIds.length > 0 || config.admitPoints === 'any' || config.admitPoints.length > 0
    const metrics = new PointMetrics(inNetwork ? components.metrics : undefined, () => this.peerPoints?.counts() ?? { peer: 0, learned: 0 })
    this.admission = new PointAdmission(components, {
      peerPoints: peerPointIds,
      admit: config.admitPoints,
      protocols: config.protocols,
      identifyWait: init.identifyWait,
      metrics,
      log: init.log
    })

    if (!inNetwork) {
      return
    }

    const missing = NEEDED.filter(name => components[name] == null)

    if (missing.length > 0) {
      throw new InvalidParametersError(`rendezvousServer: peerPoints and admitPoints need the node's ${missing.join(', ')} (a libp2p node provides them)`)
    }

    const node = components as PeerPointsComponents
    this.listing = new SelfRegistration(node, { store: init.store, config, namespace: POINTS_NAMESPACE, log: init.log })
    this.peerPoints = new PeerPoints(node, { config, store: init.store, admission: this.admission, openRecord: init.openRecord, metrics })
  }

  /** Starts hearing what identify reports, which admission reads: run before the node can have a connection */
  startAdmission (): void {
    this.admission.start()
  }

  stopAdmission (): void {
    this.admission.stop()
  }

  /** Lists this point under `/libp2p/rendezvous` here (rejects when the store refuses), then joins the network */
  async start (options: AbortOptions = {}): Promise<void> {
    if (this.listing == null) {
      return
    }

    await this.listing.start(options)
    this.peerPoints?.start()
  }

  /** Leaves the network (UNREGISTERs at the points it is announced at), then removes its own listing */
  async stop (): Promise<void> {
    await this.peerPoints?.stop()
    await this.listing?.stop()
  }

  async check (peerId: PeerId): Promise<void> {
    await this.admission.check(peerId)
  }

  registered (record: VerifiedPeerRecord, listedUntil: number): void {
    this.peerPoints?.registered(record, listedUntil)
  }

  known (): KnownPointStatus[] {
    return this.peerPoints?.known() ?? []
  }
}
