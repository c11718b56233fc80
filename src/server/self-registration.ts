/**
 * A point lists itself in its own store under a namespace: under `/libp2p/relay` when it also runs a circuit relay
 * (so that nodes needing a relay, browsers above all, find it by asking the point they already use), and under
 * `/libp2p/rendezvous` when it is part of a network of points (so that whoever asks it for the network's points
 * gets its own signed record among them).
 *
 * A node cannot dial itself, so the registration goes straight into the store, as the server would write it after
 * checking a REGISTER: a record signed with the node's key, the server's default TTL and limits. It is refreshed at
 * half the TTL and whenever the node's addresses change, and removed on stop. A refresh that fails (the database
 * away, the store full) is retried with a doubling delay until one succeeds: the registration must not quietly run
 * out while the server keeps serving. A node with no address yet registers once it has one.
 */
import { raceSignal } from 'race-signal'
import { sealPeerRecord } from '../protocol/peer-record.ts'
import type { ServerConfig } from './config.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { AbortOptions, Libp2pEvents, Logger, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'

/** What a self-registration needs of the node */
export interface SelfRegistrationComponents {
  peerId: PeerId
  /** To sign the node's record */
  privateKey: PrivateKey
  /** The addresses the record lists: what the node announces */
  addressManager: Pick<AddressManager, 'getAddresses'>
  /** `self:peer:update` says the addresses changed */
  events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
}

export interface SelfRegistrationInit {
  store: RegistrationStore
  /** The server's TTL and limits */
  config: Pick<ServerConfig, 'defaultTtl' | 'maxRegistrationsPerPeer' | 'maxRegistrationsTotal' | 'maxRecordSize'>
  namespace: string
  log: Logger
  /**
   * Delay before retrying a failed registration, doubling per failure up to `max`, in ms.
   *
   * @default 1 s to 60 s
   */
  retry?: { initial: number, max: number }
}

const DEFAULT_RETRY = { initial: 1000, max: 60_000 }

export class SelfRegistration {
  private readonly components: SelfRegistrationComponents
  private readonly init: SelfRegistrationInit
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  /** The registration in progress, so that stop() waits for it and updates never overlap */
  private pending: Promise<void> = Promise.resolve()
  /** Registrations that failed in a row */
  private failures = 0
  /** Resolved by the first address update while start() waits for one */
  private addressed?: PromiseWithResolvers<void>

  constructor (components: SelfRegistrationComponents, init: SelfRegistrationInit) {
    this.components = components
    this.init = init
    this.onAddressesChanged = this.onAddressesChanged.bind(this)
  }

  /**
   * Registers now, or, while the node has no address, once it has one (or `options.signal` aborts: the
   * registration then happens on the first address update). Resolves once the first registration is in the store;
   * rejects if the store refused it.
   */
  async start (options: AbortOptions = {}): Promise<void> {
    this.running = true
    this.components.events.addEventListener('self:peer:update', this.onAddressesChanged)

    if (this.components.addressManager.getAddresses().length === 0) {
      this.addressed = Promise.withResolvers()

      try {
        await raceSignal(this.addressed.promise, options.signal)
      } catch {
        this.init.log('no address to register under %s yet, registering once there is one', this.init.namespace)
        return
      } finally {
        this.addressed = undefined
      }
    }

    await this.register()
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.components.events.removeEventListener('self:peer:update', this.onAddressesChanged)
    this.addressed?.resolve()
    await this.pending.catch(() => {})

    try {
      await this.init.store.unregister(this.components.peerId.toString(), this.init.namespace)
    } catch (err) {
      this.init.log.error('could not remove the registration under %s - %e', this.init.namespace, err)
    }
  }

  private onAddressesChanged (): void {
    if (this.addressed != null) {
      // start() registers, and reports a refusal itself
      this.addressed.resolve()
      return
    }

    this.register().catch(err => {
      this.failures++
      const { initial, max } = this.init.retry ?? DEFAULT_RETRY
      const delay = Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30))
      this.init.log.error('could not refresh the registration under %s, retrying in %d ms - %e', this.init.namespace, delay, err)
      this.schedule(delay)
    })
  }

  /** The next registration in `delay` ms, replacing any scheduled one */
  private schedule (delay: number): void {
    clearTimeout(this.timer)

    if (this.running) {
      this.timer = setTimeout(this.onAddressesChanged, delay)
      this.timer.unref?.()
    }
  }

  private async register (): Promise<void> {
    const run = this.pending.catch(() => {}).then(async () => { await this.registerNow() })
    this.pending = run
    return run
  }

  private async registerNow (): Promise<void> {
    if (!this.running) {
      return
    }

    const { peerId, privateKey, addressManager } = this.components
    const { store, config, namespace } = this.init
    const multiaddrs = addressManager.getAddresses()

    if (multiaddrs.length === 0) {
      // a record without an address helps nobody; the next address update registers again
      this.init.log('no address to register under %s', namespace)
      return
    }

    const now = Date.now()
    const signedPeerRecord = await sealPeerRecord(privateKey, peerId, multiaddrs, BigInt(now))
    const outcome = await store.register({
      peerId: peerId.toString(),
      namespace,
      signedPeerRecord,
      recordSeq: BigInt(now),
      expiresAt: now + config.defaultTtl * 1000
    }, {
      maxRegistrationsPerPeer: config.maxRegistrationsPerPeer,
      maxRegistrationsTotal: config.maxRegistrationsTotal,
      maxRecordSize: config.maxRecordSize
    }, now)

    if (!outcome.ok) {
      throw new Error(`the store refused this server's own registration under ${namespace}: ${outcome.reason}`)
    }

    this.init.log('registered under %s with %d addresses, refreshing in %d s', namespace, multiaddrs.length, config.defaultTtl / 2)
    this.failures = 0
    // defaultTtl is at most 72 h, so half of it is well within a timer's range
    this.schedule(config.defaultTtl * 500)
  }
}
