/**
 * Watches the node for anything that may change its namespaces or its record, and reads the state again at
 * once (coalesced to one read per tick):
 *
 * - local pubsub subscriptions: gossipsub emits `subscription-change` for remote peers only, so the pubsub
 * service's `subscribe` and `unsubscribe` are wrapped while the watcher runs (and restored on stop);
 * - addresses and protocols: `transport:listening` and `transport:close` (a new listener, e.g. a relay
 * reservation, is in `getAddresses()` at once, while libp2p's own `self:peer:update` for it comes after a 1 s
 * debounce) and `self:peer:update` (verified addresses, protocols such as a relay server's hop);
 * - a slow poll (`pollInterval`) as a fallback for a change that comes without any of these.
 *
 * Remote subscription changes do not change the state but change who counts towards a topic's quota: they are
 * passed on as they come.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { Timers } from '../timers.ts'
import { isPubSubLike, readNodeState } from './node-state.ts'
import type { NodeStateComponents, PubSubLike } from './node-state.ts'
import type { Runtime } from '../clock.ts'
import type { ResolvedOptions } from '../config.ts'
import type { NodeState } from '../options.ts'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'

export interface StateWatcherComponents extends NodeStateComponents {
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface StateWatcherEvents {
  /** The state read after a possible change (it may be the same as before) */
  state: CustomEvent<NodeState>
  /** Pubsub learned that a remote peer joined or left a topic */
  'subscription-change': CustomEvent
}

export type StateWatcherOptions = Pick<ResolvedOptions, 'relay' | 'points' | 'pollInterval'>

/** Methods of a pubsub service after which its topics may have changed */
const SUBSCRIPTION_METHODS = ['subscribe', 'unsubscribe'] as const

interface Wrapped {
  method: typeof SUBSCRIPTION_METHODS[number]
  wrapper(...args: unknown[]): unknown
  own: boolean
  original(...args: unknown[]): unknown
}

const LIBP2P_EVENTS = ['self:peer:update', 'transport:listening', 'transport:close'] as const

export class StateWatcher extends TypedEventEmitter<StateWatcherEvents> {
  private readonly components: StateWatcherComponents
  private readonly options: StateWatcherOptions
  private readonly runtime: Runtime
  private readonly log: Logger
  private readonly timers: Timers
  private readonly findPubSub: () => unknown
  private pubsubService?: PubSubLike
  private wrapped: Wrapped[] = []
  private running = false
  private readQueued = false

  /**
   * `findPubSub` returns the pubsub service, if the node has one (services exist only once the node has started,
   * so it is asked in `start()`)
   */
  constructor (components: StateWatcherComponents, options: StateWatcherOptions, runtime: Runtime, findPubSub: () => unknown) {
    super()
    this.components = components
    this.options = options
    this.runtime = runtime
    this.findPubSub = findPubSub
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:state')
    this.timers = new Timers(runtime.clock, (key, err) => { this.log.error('%s failed - %e', key, err) })
  }

  get pubsub (): PubSubLike | undefined {
    return this.pubsubService
  }

  /** Peers pubsub lists as subscribed to `topic`: none without pubsub, or while it is not started */
  subscribers (topic: string): PeerId[] {
    return this.pubsubService?.getSubscribers(topic) ?? []
  }

  /** Starts watching and reads the state once, at once */
  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.timers.open()
    this.attachPubSub()

    for (const event of LIBP2P_EVENTS) {
      this.components.events.addEventListener(event, this.changed)
    }

    this.poll()
  }

  stop (): void {
    if (!this.running) {
      return
    }

    this.running = false
    this.timers.clear()

    for (const event of LIBP2P_EVENTS) {
      this.components.events.removeEventListener(event, this.changed)
    }

    this.detachPubSub()
  }

  /** The state now */
  read (): NodeState {
    if (this.pubsubService == null) {
      this.attachPubSub()
    }

    return readNodeState(this.components, this.pubsubService, this.options.relay, this.options.points)
  }

  /** Something may have changed: read the state again before the next tick, once however often this is called */
  readonly changed = (): void => {
    if (!this.running || this.readQueued) {
      return
    }

    this.readQueued = true
    queueMicrotask(() => {
      this.readQueued = false

      if (this.running) {
        this.emit()
      }
    })
  }

  private emit (): void {
    try {
      this.safeDispatchEvent('state', { detail: this.read() })
    } catch (err) {
      this.log.error('could not read the node state - %e', err)
    }
  }

  private poll (): void {
    this.emit()
    this.timers.set('poll', this.options.pollInterval, () => { this.poll() })
  }

  private readonly subscriptionChanged = (): void => {
    if (this.running) {
      this.safeDispatchEvent('subscription-change')
    }
  }

  private attachPubSub (): void {
    if (this.pubsubService != null || !this.running) {
      return
    }

    let service: unknown

    try {
      service = this.findPubSub()
    } catch {
      // no pubsub: no topic namespaces
    }

    if (!isPubSubLike(service)) {
      return
    }

    this.pubsubService = service
    const target = service as unknown as Record<string, unknown>

    for (const method of SUBSCRIPTION_METHODS) {
      const original = target[method]

      if (typeof original !== 'function') {
        continue
      }

      const own = Object.prototype.hasOwnProperty.call(target, method)
      const changed = this.changed
      const wrapper = function (this: unknown, ...args: unknown[]): unknown {
        const result = original.apply(this, args)
        changed()
        return result
      }

      target[method] = wrapper
      this.wrapped.push({ method, wrapper, own, original: original as Wrapped['original'] })
    }

    if (typeof (service as any).addEventListener === 'function') {
      (service as any).addEventListener('subscription-change', this.subscriptionChanged)
    }
  }

  private detachPubSub (): void {
    const service = this.pubsubService as unknown as Record<string, unknown> | undefined

    if (service == null) {
      return
    }

    for (const { method, wrapper, own, original } of this.wrapped) {
      // another wrapper may sit on top of ours: then ours stays, and does nothing once this watcher is stopped
      if (service[method] !== wrapper) {
        continue
      }

      if (own) {
        service[method] = original
      } else {
        delete service[method]
      }
    }

    if (typeof service.removeEventListener === 'function') {
      (service as any).removeEventListener('subscription-change', this.subscriptionChanged)
    }

    this.wrapped = []
    this.pubsubService = undefined
  }
}
