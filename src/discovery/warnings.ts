/**
 * Setups that cannot work as meant but would otherwise fail silently (seen only under DEBUG): each is said once,
 * where a developer looks, with what to change.
 *
 * By default a warning is printed with `console.warn` (libp2p's logger writes nothing unless DEBUG is set) and
 * logged as an error; the `onWarning` option replaces the printing, e.g. to route it to the application's log.
 */
import type { Logger } from '@libp2p/interface'

export type DiscoveryWarningCode =
  /** No rendezvous point is configured: nothing is registered or discovered */
  | 'no-points'
  /** The node has namespaces to register but no address to put in its record */
  | 'no-addresses'
  /** The node needs a relay and should listen on `/p2p-circuit`, but no transport can */
  | 'no-relay-transport'
  /** `relay: 'auto'` takes a relay slot for a node whose direct addresses are all private */
  | 'relay-for-private-node'
  /** A configured rendezvous point has not answered since the start (wrong address or peer id, or it is down) */
  | 'point-unreachable'

export interface DiscoveryWarning {
  code: DiscoveryWarningCode
  message: string
}

const PREFIX = 'libp2p-rendezvous-discovery:'

/**
 * Says each kind of warning once per module (once per subject, e.g. per point, for the kinds that have one); keeps
 * the ones said for the status view
 */
export class Warnings {
  /** By code, or code and subject */
  private readonly said = new Map<string, DiscoveryWarning>()
  private readonly log: Logger
  private readonly onWarning: (warning: DiscoveryWarning) => void

  constructor (log: Logger, onWarning?: (warning: DiscoveryWarning) => void) {
    this.log = log
    // eslint-disable-next-line no-console
    this.onWarning = onWarning ?? ((warning) => { console.warn(`${PREFIX} ${warning.message}`) })
  }

  /** Says `message` unless a warning of `code` (about `subject`, when given) was said already */
  warn (code: DiscoveryWarningCode, message: string, subject?: string): void {
    const key = subject == null ? code : `${code} ${subject}`

    if (this.said.has(key)) {
      return
    }

    const warning = { code, message }
    this.said.set(key, warning)
    this.log.error('warning: %s', message)

    try {
      this.onWarning(warning)
    } catch (err) {
      this.log.error('onWarning threw - %e', err)
    }
  }

  /** Whether a warning of `code` was said (about any subject) */
  has (code: DiscoveryWarningCode): boolean {
    return [...this.said.values()].some(warning => warning.code === code)
  }

  /** Every warning said so far */
  list (): DiscoveryWarning[] {
    return [...this.said.values()]
  }
}
