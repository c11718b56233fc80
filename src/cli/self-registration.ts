/**
 * A server that also runs a circuit relay registers itself under the relay namespace, so that nodes needing a
 * relay (browsers above all) find it by asking the rendezvous point they already use.
 *
 * A node cannot dial itself, so the registration goes straight into the server's own store, as the server would
 * write it after checking a REGISTER: a record signed with the node's key, the server's default TTL and limits.
 * It is refreshed at half the TTL and whenever the node's addresses change, and removed on stop. A refresh that
 * fails (the database away, the store full) is retried with a doubling delay until one succeeds: the registration
 * must not quietly run out while the server keeps serving.
 */
import { sealPeerRecord } from '../protocol/peer-record.ts'
import type { ServerConfig } from '../server/config.ts'
import type { RegistrationStore } from '../server/store/registration-store.ts'
import type { Libp2p, Logger, PrivateKey } from '@libp2p/interface'

export interface SelfRegistrationInit {
  node: Libp2p
  /** The node's private key, to sign its record */
  privateKey: PrivateKey
  store: RegistrationStore
  /** The running server's configuration: TTL and limits */
  config: ServerConfig
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
  private readonly init: SelfRegistrationInit
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  /** The registration in progress, so that stop() waits for it and updates never overlap */
  private pending: Promise<void> = Promise.resolve()
  /** Registrations that failed in a row */
  private failures = 0

  constructor (init: SelfRegistrationInit) {
    this.init = init
    this.onAddressesChanged = this.onAddressesChanged.bind(this)
  }

  /** Registers now; resolves once the first registration is in the store (rejects if the store refused it) */
  async start (): Promise<void> {
    this.running = true
    this.init.node.addEventListener('self:peer:update', this.onAddressesChanged)
    await this.register()
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.init.node.removeEventListener('self:peer:update', this.onAddressesChanged)
    await this.pending.catch(() => {})

    try {
      await this.init.store.unregister(this.init.node.peerId.toString(), this.init.namespace)
    } catch (err) {
      this.init.log.error('could not remove the registration under %s - %e', this.init.namespace, err)
    }
  }

  private onAddressesChanged (): void {
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

    const { node, store, config, namespace } = this.init
    const now = Date.now()
    const multiaddrs = node.getMultiaddrs()
    const signedPeerRecord = await sealPeerRecord(this.init.privateKey, node.peerId, multiaddrs, BigInt(now))
    const outcome = await store.register({
      peerId: node.peerId.toString(),
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
