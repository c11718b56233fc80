/**
 * A rendezvous client without a network, for unit tests: `FakePoint`s keep registrations in memory the way the
 * real server does (a re-registration is new to cookies; a cookie is a position in the namespace's log), and a
 * `FakeClient` talks to them, recording every call. Hooks let a test hold a request in flight, fail it, or
 * change what a point answers.
 */
import { peerIdOfMultiaddr } from '../../../../src/client/point.ts'
import { RendezvousError } from '../../../../src/errors.ts'
import { Message } from '../../../../src/pb/rendezvous.ts'
import { pointAddress } from './peers.ts'
import type { DiscoverOptions, DiscoverResult, DiscoveredRegistration, RegisterOptions, RendezvousClient, RendezvousPoint } from '../../../../src/client/types.ts'
import type { Clock } from '../../../../src/discovery/clock.ts'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Entry {
  peerId: PeerId
  /** Position in the namespace's log */
  position: number
  seqNumber: bigint
  expiresAt: number
}

function cookieOf (position: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(position))
  return bytes
}

function positionOf (cookie: Uint8Array): number {
  return Number(new DataView(cookie.buffer, cookie.byteOffset, 8).getBigUint64(0))
}

/** A rendezvous point in memory */
export class FakePoint {
  readonly peerId: PeerId
  readonly multiaddr: Multiaddr
  private readonly clock: Clock
  private readonly log = new Map<string, Entry[]>()
  private position = 0
  private recordSeq = 0n

  constructor (peerId: PeerId, clock: Clock) {
    this.peerId = peerId
    this.multiaddr = pointAddress(peerId)
    this.clock = clock
  }

  register (peerId: PeerId, ns: string, ttl: number): void {
    const entries = (this.log.get(ns) ?? []).filter(e => !e.peerId.equals(peerId))
    entries.push({ peerId, position: ++this.position, seqNumber: ++this.recordSeq, expiresAt: this.clock.now() + ttl * 1000 })
    this.log.set(ns, entries)
  }

  unregister (peerId: PeerId, ns: string): void {
    this.log.set(ns, (this.log.get(ns) ?? []).filter(e => !e.peerId.equals(peerId)))
  }

  /** Peers registered under `ns` now */
  registered (ns: string): PeerId[] {
    return (this.log.get(ns) ?? []).filter(e => e.expiresAt > this.clock.now()).map(e => e.peerId)
  }

  discover (ns: string, cookie: Uint8Array | null | undefined, limit: number): DiscoverResult {
    const after = cookie == null ? 0 : positionOf(cookie)
    const now = this.clock.now()
    const page = (this.log.get(ns) ?? []).filter(e => e.position > after && e.expiresAt > now).slice(0, limit)
    const last = page.length > 0 ? page[page.length - 1].position : after
    const registrations: DiscoveredRegistration[] = page.map(e => ({
      peerId: e.peerId,
      multiaddrs: [],
      namespace: ns,
      ttl: Math.round((e.expiresAt - now) / 1000),
      seqNumber: e.seqNumber,
      signedPeerRecord: new Uint8Array(0)
    }))
    return { registrations, cookie: cookieOf(last), dropped: 0 }
  }

  /** Forgets everything, as a point restarted with an empty memory store */
  clear (): void {
    this.log.clear()
  }
}

export interface ClientCall {
  type: 'register' | 'unregister' | 'discover'
  point: string
  ns?: string
  cookie?: Uint8Array | null
  at: number
}

/** Runs before a request is answered: may wait (hold it in flight) or throw (fail it) */
export type RequestHook = (call: ClientCall, options: AbortOptions) => Promise<void> | void

export class FakeClient implements RendezvousClient {
  readonly calls: ClientCall[] = []
  /** Runs before every REGISTER is answered */
  onRegister?: RequestHook
  /** Runs before every UNREGISTER is taken */
  onUnregister?: RequestHook
  /** Runs before every DISCOVER is answered */
  onDiscover?: RequestHook
  /** Replaces what a point answers to DISCOVER */
  answer?: (call: ClientCall, limit: number) => DiscoverResult | undefined
  private readonly self: PeerId
  private readonly points: FakePoint[]
  private readonly clock: Clock

  constructor (self: PeerId, points: FakePoint[], clock: Clock) {
    this.self = self
    this.points = points
    this.clock = clock
  }

  /** Calls of one type, optionally at one namespace */
  count (type: ClientCall['type'], ns?: string): number {
    return this.calls.filter(c => c.type === type && (ns == null || c.ns === ns)).length
  }

  async register (point: RendezvousPoint, namespace: string, options: RegisterOptions = {}): Promise<number> {
    const target = this.find(point)
    const call = this.record('register', target, namespace)
    await this.onRegister?.(call, options)
    options.signal?.throwIfAborted()
    const ttl = options.ttl ?? 7200
    target.register(this.self, namespace, ttl)
    return ttl
  }

  async unregister (point: RendezvousPoint, namespace: string, options: AbortOptions = {}): Promise<void> {
    const target = this.find(point)
    const call = this.record('unregister', target, namespace)
    await this.onUnregister?.(call, options)
    options.signal?.throwIfAborted()
    target.unregister(this.self, namespace)
  }

  async discover (point: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): Promise<DiscoverResult> {
    const target = this.find(point)
    const call = this.record('discover', target, namespace, options.cookie)
    await this.onDiscover?.(call, options)
    options.signal?.throwIfAborted()
    const limit = options.limit ?? 100
    return this.answer?.(call, limit) ?? target.discover(namespace ?? '', options.cookie, limit)
  }

  async * discoverAll (point: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): AsyncGenerator<DiscoveredRegistration> {
    let cookie = options.cookie

    for (let page = 0; page < 100; page++) {
      const result = await this.discover(point, namespace, { ...options, cookie })
      yield * result.registrations

      if (result.registrations.length < (options.limit ?? 100)) {
        return
      }

      cookie = result.cookie
    }
  }

  resetCookies (): void {}

  private find (point: RendezvousPoint): FakePoint {
    const id = peerIdOfMultiaddr(point as Multiaddr)
    const target = this.points.find(p => id != null && p.peerId.equals(id))

    if (target == null) {
      throw new RendezvousError(Message.ResponseStatus.E_UNAVAILABLE, `no fake point ${String(point)}`)
    }

    return target
  }

  private record (type: ClientCall['type'], point: FakePoint, ns?: string, cookie?: Uint8Array | null): ClientCall {
    const call = { type, point: point.peerId.toString(), ns, cookie, at: this.clock.now() }
    this.calls.push(call)
    return call
  }
}

/** A promise and its resolvers, to hold a request in flight until the test lets it go */
export function deferred<T = void> (): { promise: Promise<T>, resolve(value: T): void, reject(err: unknown): void } {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}
