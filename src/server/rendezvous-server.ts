/**
 * The rendezvous server service: builds the parts a point is made of (request slots, reply budget, verified
 * records, requesters' formats, metrics, the network of points, its own listings), and runs their lifecycle:
 * start (the store, the protocol handlers), stop (letting requests in flight finish), and the sweep of expired
 * registrations on an interval. Each inbound stream is served by stream-server.ts.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { raceSignal } from 'race-signal'
import { openPeerRecord } from '../protocol/peer-record.ts'
import { resolveServerConfig } from './config.ts'
import { PointNetwork } from './points/point-network.ts'
import { ReplyBudget } from './reply-budget.ts'
import { RequestAnswers } from './request-answers.ts'
import { RequestSlots } from './request-slots.ts'
import { RequesterFormats } from './requester-formats.ts'
import { SelfRegistration } from './self-registration.ts'
import { ServerMetrics } from './server-metrics.ts'
import { StreamServer } from './stream-server.ts'
import { VerifiedRecords } from './verified-records.ts'
import type { ServerConfig } from './config.ts'
import type { KnownPointStatus, RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'
import type { SelfRegistrationComponents } from './self-registration.ts'
import type { RegistrationStore } from './store/registration-store.ts'
import type { VerifiedPeerRecord } from '../protocol/peer-record.ts'
import type { Connection, Logger, Startable, Stream } from '@libp2p/interface'

/** How long a DISCOVER whose answer holds standard records waits for identify to say whether the requester is rust-libp2p */
const IDENTIFY_WAIT_MS = 2000

/**
 * A rendezvous point: serves REGISTER, UNREGISTER and DISCOVER, as many requests per stream as the client sends, from a
 * {@link RegistrationStore}, and sweeps expired registrations out of the store on an interval.
 */
export class RendezvousServer implements RendezvousServerService, Startable {
  readonly [Symbol.toStringTag] = 'libp2p-rendezvous-server'
  readonly [serviceCapabilities]: string[] = ['@libp2p/rendezvous-server']

  readonly config: ServerConfig
  readonly store: RegistrationStore
  private readonly components: RendezvousServerComponents
  private readonly log: Logger
  private readonly metrics: ServerMetrics
  private readonly requesters: RequesterFormats
  private readonly records: VerifiedRecords<VerifiedPeerRecord>
  private readonly inFlight = new Set<Promise<void>>()
  /** Requests read and being handled, at most `maxConcurrentRequests` (see stream-server.ts) */
  private readonly slots: RequestSlots
  /** Bytes of DISCOVER replies written and not yet taken by their peers */
  private readonly replies: ReplyBudget
  private cookieSecret?: Uint8Array
  private sweepTimer?: ReturnType<typeof setTimeout>
  private sweeping?: Promise<void>
  /** Aborted by stop(), so that a sweep in progress (or a store that never answers one) does not hold it up */
  private stopping?: AbortController
  private started = false
  /** Admission under `/libp2p/rendezvous`, and the point's part in a network of points when it is in one */
  private readonly points: PointNetwork
  /** This point's own listings (`ownNamespaces`) */
  private readonly ownListings: SelfRegistration[]
  private readonly streams: StreamServer

  constructor (components: RendezvousServerComponents, init: RendezvousServerInit & { store: RegistrationStore }) {
    this.components = components
    this.config = resolveServerConfig(init)
    this.store = init.store
    this.log = components.logger.forComponent('libp2p:rendezvous:server')
    this.records = new VerifiedRecords({ maxEntries: this.config.verifiedRecordCacheSize, verify: openPeerRecord })
    this.slots = new RequestSlots(this.config.maxConcurrentRequests)
    this.replies = new ReplyBudget({ maxBytes: this.config.maxReplyBytes, maxBytesPerPeer: this.config.maxReplyBytesPerPeer })
    // as many requests may wait for identify as may be handled, in a pool of their own
    this.requesters = new RequesterFormats(components, { identifyWait: Math.min(IDENTIFY_WAIT_MS, this.config.timeout / 4), maxWaiting: this.config.maxConcurrentRequests })
    this.metrics = new ServerMetrics(components.metrics, this.store, this.records, {
      replyBytes: () => this.replies.bytes,
      identifyWaits: () => this.requesters.waitingRequests
    })
    this.points = new PointNetwork(components, {
      config: this.config,
      store: this.store,
      openRecord: async envelope => this.records.open(envelope),
      identifyWait: Math.min(IDENTIFY_WAIT_MS, this.config.timeout / 4),
      log: this.log
    })
    this.ownListings = this.config.ownNamespaces.map(namespace => new SelfRegistration(components as SelfRegistrationComponents, { store: this.store, config: this.config, namespace, log: this.log }))
    this.streams = new StreamServer({
      config: this.config,
      log: this.log,
      metrics: this.metrics,
      slots: this.slots,
      replies: this.replies,
      answers: new RequestAnswers({
        config: this.config,
        store: this.store,
        records: this.records,
        requesters: this.requesters,
        points: this.points,
        metrics: this.metrics,
        log: this.log,
        cookieSecret: () => this.cookieSecret
      })
    })
    this.onStream = this.onStream.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    await this.store.start?.()
    this.cookieSecret = await this.store.getCookieSecret()
    this.points.startAdmission()

    for (const protocol of this.config.protocols) {
      await this.components.registrar.handle(protocol, this.onStream, {
        maxInboundStreams: this.config.maxInboundStreams,
        // a point in a network of points talks to the others through the client, which opens up to twice its
        // maxStreamsPerPoint (4) streams to one point when some hang
        maxOutboundStreams: 8,
        runOnLimitedConnection: this.config.runOnLimitedConnection
      })
    }

    this.requesters.start()
    this.started = true
    this.stopping = new AbortController()
    this.scheduleSweep()
    this.log('serving %s', this.config.protocols.join(', '))
  }

  /**
   * Lists this point in its own store under `ownNamespaces` (and `/libp2p/rendezvous` in a network of points), then
   * joins its network of points. Run once the node listens, or soon will: a listing waits up to `timeout` for the
   * first address. Rejects when the store refuses a listing.
   */
  async afterStart (): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.config.timeout), this.stopping?.signal ?? new AbortController().signal])
    await Promise.all(this.ownListings.map(async listing => { await listing.start({ signal }) }))
    await this.points.start({ signal })
  }

  /** Leaves the network of points and removes this point's own listings, while the node can still reach the others */
  async beforeStop (): Promise<void> {
    await this.points.stop()
    await Promise.all(this.ownListings.map(async listing => { await listing.stop() }))
  }

  knownPoints (): KnownPointStatus[] {
    return this.points.known()
  }

  /** Stops accepting streams, lets the requests in flight finish (each is bounded by `timeout`), then closes the store */
  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    this.points.stopAdmission()
    clearTimeout(this.sweepTimer)
    this.stopping?.abort(new Error('the rendezvous server is stopping'))

    for (const protocol of this.config.protocols) {
      await this.components.registrar.unhandle(protocol)
    }

    // requests waiting for identify go on at once
    this.requesters.stop()
    await Promise.allSettled([...this.inFlight, this.sweeping])
    await this.store.stop?.()
    this.log('stopped')
  }

  /**
   * Removes expired registrations now; the server also does this every `sweepInterval` ms. A sweep is given
   * `timeout` ms and is cut short by `stop()`: a store that never answers must hold up neither `stop()` nor the
   * sweeps after it, and what one sweep left is the next one's work. Resolves with how many it removed (0 when
   * it was cut short or failed).
   */
  async sweep (): Promise<number> {
    const deadline = AbortSignal.timeout(this.config.timeout)
    const signal = this.stopping == null ? deadline : AbortSignal.any([deadline, this.stopping.signal])

    try {
      // a store that never answers must not hold up stop(), or the sweeps after it, beyond the timeout
      const removed = await raceSignal(this.store.removeExpired(Date.now(), { signal }), signal)
      this.metrics.sweptExpired(removed)

      if (removed > 0) {
        this.log('removed %d expired registrations', removed)
      }

      return removed
    } catch (err) {
      if (this.stopping?.signal.aborted === true) {
        this.log('sweep of expired registrations cut short by stop')
        return 0
      }

      this.metrics.storeError()

      if (deadline.aborted) {
        this.log.error('the store did not finish removing expired registrations within %d ms; the next sweep goes on', this.config.timeout)
      } else {
        this.log.error('could not remove expired registrations - %e', err)
      }

      return 0
    }
  }

  private scheduleSweep (): void {
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep().then(() => {
        if (this.started) {
          this.scheduleSweep()
        }
      })
    }, this.config.sweepInterval)
  }

  private onStream (stream: Stream, connection: Connection): void {
    // tracked so that stop() can let it finish; it never rejects
    const request = this.streams.serve(stream, connection.remotePeer).finally(() => {
      this.inFlight.delete(request)
    })
    this.inFlight.add(request)
  }
}
