/**
 * Who may register under `/libp2p/rendezvous` at this point: the defence of a network of points against a crowd of
 * fake ones. Anyone can start a point; if every point listed whoever registered there, an attacker's points could
 * outnumber the honest ones in every list, and nodes that learn points from those lists would spread their
 * namespaces over points that answer nothing. So a point lists only the points it admits: its peer points and the
 * peer ids of `admitPoints` (the network's list, kept by its operators as bootstrap lists are), or anyone with
 * `'any'` (closed test networks). Nodes learn points only from points they trust, which list only points they
 * admit: making up peer ids gains an attacker nothing, since its ids are on no list.
 *
 * The registrant must also announce the rendezvous protocol in identify: a peer id on the list that is not serving
 * as a point (a node that reuses a point's key, a misconfigured host) is not listed for nodes to spread their
 * namespaces onto. What identify reported is kept from its own events, not read from the peer store: libp2p merges
 * the protocol of every inbound stream into the peer store (3.3, connection.ts), so there every peer that opened a
 * rendezvous stream seems to serve the rendezvous protocol. Identify usually runs while the REGISTER is on its way;
 * when it has not reported yet, the REGISTER waits a little for it (once per peer at a time). Only the admitted
 * ids' reports are kept (or the last 10,000 peers' with `'any'`).
 */
import QuickLRU from 'quick-lru'
import { RendezvousError } from '../../errors.ts'
import { Message } from '../../pb/rendezvous.ts'
import type { PointMetrics } from './point-metrics.ts'
import type { IdentifyResult, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'

const { ResponseStatus } = Message

/** Identify reports kept with `'any'`, the least recently used forgotten first */
const MAX_REPORTS = 10_000

export interface PointAdmissionComponents {
  events?: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
}

export interface PointAdmissionInit {
  /** The peer points' ids: always admitted */
  peerPoints: Iterable<string>
  /** `admitPoints`: more ids, or `'any'` */
  admit: 'any' | string[]
  /** The protocol ids this point serves; a registrant must announce one of them */
  protocols: string[]
  /** How long a REGISTER waits for identify to report the registrant's protocols, in ms */
  identifyWait: number
  metrics?: PointMetrics
  log: Logger
}

export class PointAdmission {
  private readonly components: PointAdmissionComponents
  private readonly ids: Set<string>
  private readonly any: boolean
  private readonly protocols: string[]
  private readonly identifyWait: number
  private readonly metrics?: PointMetrics
  private readonly log: Logger
  /** One identify wait per peer, whatever the number of its REGISTERs waiting */
  private readonly waiting = new Map<string, Promise<string[] | undefined>>()
  /** What identify reported each admitted peer serves */
  private readonly reported = new QuickLRU<string, string[]>({ maxSize: MAX_REPORTS })
  private listening = false

  constructor (components: PointAdmissionComponents, init: PointAdmissionInit) {
    this.components = components
    this.any = init.admit === 'any'
    this.ids = new Set([...init.peerPoints, ...(init.admit === 'any' ? [] : init.admit)])
    this.protocols = init.protocols
    this.identifyWait = init.identifyWait
    this.metrics = init.metrics
    this.log = init.log
    this.onIdentify = this.onIdentify.bind(this)
  }

  /** Hears identify from now on: started with the server, before any connection can come */
  start (): void {
    if (this.open && !this.listening && this.components.events != null) {
      this.components.events.addEventListener('peer:identify', this.onIdentify)
      this.listening = true
    }
  }

  stop (): void {
    this.components.events?.removeEventListener('peer:identify', this.onIdentify)
    this.listening = false
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const id = evt.detail.peerId.toString()

    if (this.admits(id)) {
      this.reported.set(id, evt.detail.protocols)
    }
  }

  /** Whether the point takes part in a network of points at all: it admits someone */
  get open (): boolean {
    return this.any || this.ids.size > 0
  }

  /** Whether the peer id is admitted (the list, or `'any'`); says nothing of the protocol check */
  admits (peerId: string): boolean {
    return this.any || this.ids.has(peerId)
  }

  /** Resolves when `peerId` may register under `/libp2p/rendezvous`; throws E_NOT_AUTHORIZED saying why not */
  async check (peerId: PeerId): Promise<void> {
    const id = peerId.toString()

    if (!this.admits(id)) {
      this.metrics?.admission('not_listed')
      throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, this.ids.size === 0
        ? 'this point admits no point under /libp2p/rendezvous (it has no peer points and no list of points)'
        : `${id} is not on this point's list of points (its peer points and admitPoints); ask the network's operators to add it`)
    }

    const protocols = await this.protocolsOf(peerId)

    if (protocols == null || !protocols.some(protocol => this.protocols.includes(protocol))) {
      this.metrics?.admission('no_protocol')
      throw new RendezvousError(ResponseStatus.E_NOT_AUTHORIZED, protocols == null
        ? `${id} did not say in identify within ${this.identifyWait} ms which protocols it serves; only a rendezvous point (${this.protocols.join(', ')}) is listed under /libp2p/rendezvous`
        : `${id} does not announce ${this.protocols.join(' or ')} in identify; only a rendezvous point is listed under /libp2p/rendezvous`)
    }

    this.metrics?.admission('admitted')
  }

  /** The protocols identify reported for the peer, waiting a little for its report when it has not come yet */
  private async protocolsOf (peerId: PeerId): Promise<string[] | undefined> {
    const key = peerId.toString()
    const known = this.reported.get(key)

    if (known != null) {
      return known
    }

    let waiting = this.waiting.get(key)

    if (waiting == null) {
      const started = performance.now()
      waiting = this.identified(peerId).finally(() => {
        this.waiting.delete(key)
        this.log('waited %d ms for identify of %p to admit it under /libp2p/rendezvous', Math.round(performance.now() - started), peerId)
      })
      this.waiting.set(key, waiting)
    }

    return waiting
  }

  /** The protocols identify reports for the peer within `identifyWait`, or `undefined` */
  private async identified (peerId: PeerId): Promise<string[] | undefined> {
    const events = this.components.events

    if (events == null) {
      return undefined
    }

    return new Promise(resolve => {
      const done = (protocols?: string[]): void => {
        clearTimeout(timer)
        events.removeEventListener('peer:identify', onIdentify)
        resolve(protocols)
      }
      const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
        if (evt.detail.peerId.equals(peerId)) {
          done(evt.detail.protocols)
        }
      }
      const timer = setTimeout(done, this.identifyWait)
      events.addEventListener('peer:identify', onIdentify)
    })
  }
}
