/**
 * What the quotas and the dialer report in the module's `status` (`status.dialer`).
 */
import type { NamespaceKind } from '../options.ts'

/** The status of one namespace's quota */
export interface QuotaStatus {
  ns: string
  kind: NamespaceKind
  quota: number
  /** Connected peers that count */
  connected: number
  /** Peers being dialed, dialed recently, or connected to us, and not counted yet */
  pending: number
  /** Known candidates not connected, not in backoff */
  candidates: number
  /** Peers tagged for this namespace */
  kept: number
}

export interface DialerStatus {
  quotas: QuotaStatus[]
  /** Dials waiting in the queue */
  queued: number
  /** Dials running */
  dialing: number
  /** Open connections of the node */
  connections: number
  maxConnections: number
  /** The most connections the dialer will dial up to */
  connectionLimit: number
  /** Peers in dial backoff */
  backedOff: number
}
