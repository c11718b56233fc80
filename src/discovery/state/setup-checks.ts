/**
 * What in the node's setup cannot work as meant, decided on a complete state and said once (warnings.ts):
 *
 * - a relay is needed but no transport can listen on `/p2p-circuit` (`no-relay-transport`);
 * - `relay: 'auto'` takes a relay slot for a node whose direct addresses are all private (`relay-for-private-node`);
 * - namespaces to register, no address for a while, and no relay reservation that could give one (`no-addresses`);
 * - a configured point that has not answered within `POINT_ANSWER_GRACE` of the start (`point-unreachable`), named
 * with the error its requests got: a wrong port or peer id otherwise shows only in `status.scheduler.points`.
 *
 * A state is complete once the node has a direct address, or `STATE_GRACE` after the start: libp2p starts its
 * listeners in the same `afterStart` round in which this module reads its first state, so that first state of a
 * node listening on 127.0.0.1 has no address yet and, judged alone, says that the node needs a relay.
 *
 * A node that can listen on relays and has no address is waiting for a reservation (a browser before its first
 * relay, or between a relay it lost and the next one): that is no setup problem, and it is not warned about.
 */
import { Timers } from '../timers.ts'
import { canListenOnRelays, directAddresses } from './node-state.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { NodeState } from '../options.ts'
import type { PointHealth, RendezvousPointState } from '../points/point-health.ts'
import type { Point } from '../points/point.ts'
import type { Warnings } from '../warnings.ts'
import type { Logger } from '@libp2p/interface'
import type { AddressManager, TransportManager } from '@libp2p/interface-internal'

/** How long after the start a state without addresses counts as complete, and a node may have no address, in ms */
export const STATE_GRACE = 3000

/**
 * How long after the start a configured point may go without answering before it is warned about, in ms: a point
 * started together with its nodes (a demo, a compose file) is up within it
 */
export const POINT_ANSWER_GRACE = 10_000

export interface SetupChecksComponents {
  addressManager: Pick<AddressManager, 'getAddresses'>
  transportManager: Pick<TransportManager, 'getTransports'>
}

export type SetupChecksOptions = Pick<ResolvedOptions, 'relay' | 'relayListen' | 'quotas' | 'pointBackoff'>

export interface SetupChecksHooks {
  /** The node state the namespaces were last derived from */
  state(): NodeState | undefined
  /** The namespaces the node registers now */
  registered(): string[]
  /** The points given in the options (learned points are not the user's to check) */
  configured(): Point[]
}

export class SetupChecks {
  private readonly components: SetupChecksComponents
  private readonly options: SetupChecksOptions
  private readonly runtime: Runtime
  private readonly warnings: Warnings
  private readonly points: PointHealth
  private readonly hooks: SetupChecksHooks
  private readonly timers: Timers
  private startedAt = 0

  constructor (components: SetupChecksComponents, options: SetupChecksOptions, runtime: Runtime, warnings: Warnings, points: PointHealth, log: Logger, hooks: SetupChecksHooks) {
    this.components = components
    this.options = options
    this.runtime = runtime
    this.warnings = warnings
    this.points = points
    this.hooks = hooks
    this.timers = new Timers(runtime.clock, (key, err) => { log.error('%s failed - %e', key, err) })
  }

  start (): void {
    this.startedAt = this.runtime.clock.now()
    this.timers.open()

    if (this.hooks.configured().length === 0) {
      this.warnings.warn('no-points', 'no rendezvous points are configured (option points): nothing is registered or discovered')
    }

    // a node whose state never changes after its first, incomplete read is judged once the grace is over
    this.timers.set('state', STATE_GRACE, () => {
      const state = this.hooks.state()

      if (state != null) {
        this.stateApplied(state)
      }
    })
    this.timers.set('points', POINT_ANSWER_GRACE, () => {
      this.hooks.configured().forEach(point => { this.checkPoint(this.points.state(point)) })
    })
  }

  stop (): void {
    this.timers.clear()
  }

  /** The module derived its namespaces from `state` */
  stateApplied (state: NodeState): void {
    if (!state.needsRelay || !this.complete(state)) {
      return
    }

    if (this.usesRelayListeners() && !canListenOnRelays(this.components.transportManager)) {
      this.noRelayTransport()
    }

    const direct = directAddresses(state.addresses)

    if (this.options.relay === 'auto' && direct.length > 0) {
      this.warnings.warn('relay-for-private-node', `relay: 'auto' looks for relays and takes a relay slot because this node has no public, verified address (its direct addresses: ${direct.map(ma => ma.toString()).join(', ')}). If peers reach it directly (a local network, a test), set relay: 'never'; on a public host, add @libp2p/autonat so its address gets verified`)
    }
  }

  /** The node needs a relay but no transport can listen on `/p2p-circuit` */
  noRelayTransport (): void {
    this.warnings.warn('no-relay-transport', `the node needs a relay (relay: '${this.options.relay}') but no transport can listen on /p2p-circuit, so no reservation is made and nobody can reach it through a relay: add circuitRelayTransport() to the node's transports`)
  }

  /** A REGISTER was due without any address: warn if it stays so and no relay reservation can bring one */
  noAddresses (): void {
    if (this.timers.has('no-addresses') || this.warnings.has('no-addresses')) {
      return
    }

    this.timers.set('no-addresses', STATE_GRACE, () => {
      if (this.components.addressManager.getAddresses().length > 0) {
        return
      }

      if (this.hooks.state()?.needsRelay === true && this.usesRelayListeners()) {
        if (!canListenOnRelays(this.components.transportManager)) {
          // the cause, with its fix
          this.noRelayTransport()
        }

        // otherwise it waits for a relay reservation, which gives it an address
        return
      }

      this.warnings.warn('no-addresses', `this node has no addresses, so it registers nowhere (namespaces: ${this.hooks.registered().join(', ')}): give it a listen or announce address, or let it use relays (circuitRelayTransport() and relay: 'auto' or 'always')`)
    })
  }

  /** A request to `point` failed without an answer */
  pointFailed (point: RendezvousPointState): void {
    if (!this.hooks.configured().some(p => p.id === point.id)) {
      return
    }

    if (this.runtime.clock.now() - this.startedAt >= POINT_ANSWER_GRACE) {
      this.checkPoint(point)
    }
  }

  private checkPoint (point: RendezvousPointState): void {
    if (point.lastSuccessAt != null || point.lastError == null) {
      return
    }

    const retry = Math.round(this.options.pointBackoff.max / 1000)
    this.warnings.warn('point-unreachable', `rendezvous point ${point.multiaddr.toString()} has not answered since the start (${Math.round((this.runtime.clock.now() - this.startedAt) / 1000)} s): ${point.lastError}. Check its address and peer id; the node tries it again at least every ${retry} s (pointBackoff.max) and uses it as soon as it answers`, point.id)
  }

  /** Whether the module adds `/p2p-circuit` listeners when a relay is needed */
  private usesRelayListeners (): boolean {
    return this.options.relayListen && this.options.quotas.relay > 0
  }

  /** A state judged alone says what the node needs once it has an address, or once its listeners had time */
  private complete (state: NodeState): boolean {
    return directAddresses(state.addresses).length > 0 || this.runtime.clock.now() - this.startedAt >= STATE_GRACE
  }
}
