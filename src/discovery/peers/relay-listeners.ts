/**
 * While the node needs relays, it listens on `/p2p-circuit` once per relay kept (up to the relay quota): each
 * such listener is one reservation the circuit relay transport makes. Listeners are added only as relays
 * connect, because while the transport has more of them than relays it dials every peer anyone discovers,
 * looking for one.
 *
 * The listeners this module added are tracked as objects, not counted: libp2p closes every listener when the
 * node stops, so after a restart the module starts from none and listens again. When no relay is needed any
 * more, its listeners are closed, unless the node also has `/p2p-circuit` listen addresses of its own
 * configured: in circuit-relay-v2@4 closing one circuit listener cancels every reservation of the node, the
 * configured ones' too.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Listener, Logger } from '@libp2p/interface'
import type { AddressManager, TransportManager } from '@libp2p/interface-internal'

export interface RelayListenersComponents {
  transportManager: Pick<TransportManager, 'listen' | 'getListeners'>
  addressManager: Pick<AddressManager, 'getListenAddrs'>
  logger: ComponentLogger
}

export interface RelayListenersEvents {
  /** No transport could listen on `/p2p-circuit` (no `circuitRelayTransport()`) */
  unsupported: CustomEvent<unknown>
}

const CIRCUIT = '/p2p-circuit'

export class RelayListeners extends TypedEventEmitter<RelayListenersEvents> {
  private readonly components: RelayListenersComponents
  private readonly log: Logger
  private ours: Listener[] = []
  private busy = false
  private unsupported = false

  constructor (components: RelayListenersComponents) {
    super()
    this.components = components
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:relay-listeners')
  }

  /** `/p2p-circuit` listeners this module added that are still open */
  get added (): number {
    this.forgetClosed()
    return this.ours.length
  }

  /** A fresh start: listeners closed while the module was stopped are forgotten, and listening is tried again */
  start (): void {
    this.forgetClosed()
    this.unsupported = false
  }

  /** Closes the listeners this module added */
  async stop (): Promise<void> {
    await this.closeOurs()
  }

  /**
   * While relays are `needed`, adds listeners up to `wanted` (one per relay kept; a listener whose relay went
   * away stays, free for the next one); once none are needed, closes those it added (see above for when it does
   * not).
   */
  update (needed: boolean, wanted: number): void {
    this.forgetClosed()

    if (this.busy) {
      return
    }

    const configured = this.components.addressManager.getListenAddrs().filter(ma => ma.toString() === CIRCUIT).length

    if (!needed) {
      if (this.ours.length > 0 && configured === 0) {
        this.log('no relay needed any more, closing %d /p2p-circuit listener(s)', this.ours.length)
        void this.closeOurs()
      }

      return
    }

    const missing = wanted - configured - this.ours.length

    if (missing <= 0 || this.unsupported) {
      return
    }

    const before = new Set(this.components.transportManager.getListeners())
    this.busy = true
    const listening = this.components.transportManager.listen(Array.from({ length: missing }, () => multiaddr(CIRCUIT)))
    // the transport manager creates its listeners before it awaits anything: the new ones are known now
    const added = this.components.transportManager.getListeners().filter(listener => !before.has(listener))
    this.ours.push(...added)

    listening
      .then(() => {
        this.log('listening on /p2p-circuit x%d to reserve relay slots', added.length)
      }, (err: any) => {
        // no circuit relay transport: relays are still dialed, but no reservation is made
        this.unsupported = true
        this.safeDispatchEvent('unsupported', { detail: err })
        this.log.error('could not listen on /p2p-circuit (is circuitRelayTransport() configured?) - %e', err)
      })
      .finally(() => {
        this.busy = false
      })
  }

  private forgetClosed (): void {
    const open = new Set(this.components.transportManager.getListeners())
    this.ours = this.ours.filter(listener => open.has(listener))
  }

  private async closeOurs (): Promise<void> {
    this.forgetClosed()
    const closing = this.ours
    this.ours = []
    await Promise.allSettled(closing.map(async listener => listener.close()))
  }
}
