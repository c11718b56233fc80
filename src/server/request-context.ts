import type { ServerConfig } from './config.ts'
import type { PointRegistrations } from './points/point-network.ts'
import type { RequesterFormats } from './requester-formats.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { VerifiedRecords } from './verified-records.ts'
import type { VerifiedPeerRecord } from '../protocol/peer-record.ts'
import type { Logger, PeerId } from '@libp2p/interface'

/** What a request handler needs besides the request itself */
export interface RequestContext {
  config: ServerConfig
  store: RegistrationStore
  cookieSecret: Uint8Array
  /** Opens and checks signed peer records, once per distinct record */
  records: VerifiedRecords<VerifiedPeerRecord>
  /** The peer at the other end of the connection: the only peer it may register */
  remotePeer: PeerId
  /** What the server knows of which record formats each peer reads */
  requesters: RequesterFormats
  /** Whether the requester reads only legacy records (a rust-libp2p client), when that is known without waiting */
  readsOnlyLegacyKnown(): boolean | undefined
  /**
   * Whether the requester reads only legacy records; asked only when it matters, as it may wait for identify (with
   * the request's slot given back meanwhile: it may reject with E_UNAVAILABLE when none is free after the wait)
   */
  readsOnlyLegacy(): Promise<boolean>
  /** Who may register under `/libp2p/rendezvous`, and what a point learns when one does; none: nobody may */
  points?: PointRegistrations
  /** Milliseconds since the epoch, taken once per request */
  now: number
  log: Logger
}
