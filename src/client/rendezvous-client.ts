/**
 * The rendezvous client: REGISTER, UNREGISTER and DISCOVER against any rendezvous point, written to be tolerant
 * of every server the survey lists (Rust, Go, Nim, legacy JS and Python, canvas) while sending only what all of
 * them accept.
 *
 * Zero values are never sent (`ttl = 0` and `limit = 0` mean different things to different servers), a DISCOVER
 * always carries a limit (Rust returns everything without one), and "all namespaces" is an absent `ns`. A missing
 * `type` or `status` in a reply reads as its zero value (proto3 peers omit zero enums). One cookie is kept per
 * (point, namespace), as bytes, never as text; it is dropped and the query retried once without it on
 * E_INVALID_COOKIE. A REGISTER is adjusted and retried once per kind of refusal (see `register`). Every discovered
 * registration is verified on its own and a bad one dropped, never the whole response. TTLs from the wire are
 * clamped before anyone builds a timer from them.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from '../constants.ts'
import { InvalidResponseError, NoAddressesError, RendezvousError } from '../errors.ts'
import { checkValue } from '../options/check-options.ts'
import { integer } from '../options/option-types.ts'
import { Message } from '../pb/rendezvous.ts'
import { parseNamespace } from '../protocol/namespace.ts'
import { sealPeerRecord } from '../protocol/peer-record.ts'
import { resolveClientConfig } from './config.ts'
import { CookieJar } from './cookie-jar.ts'
import { exchange, send } from './exchange.ts'
import { ClientMetrics } from './metrics.ts'
import { PointFormats } from './point-formats.ts'
import { PointStreams } from './point-streams.ts'
import { resolvePoint } from './point.ts'
import { nextAttempt } from './register-attempts.ts'
import { describeRequest, hasStatus, inContext } from './request-errors.ts'
import { HUNG_AFTER_MS } from './stream-slots.ts'
import { verifyRegistrations } from './verify.ts'
import type { ExchangeOptions } from './exchange.ts'
import type { RequestKind } from './metrics.ts'
import type { ResolvedPoint } from './point.ts'
import type { RegisterAttempt } from './register-attempts.ts'
import type { RequestType } from './request-errors.ts'
import type { DiscoveredRegistration, DiscoverOptions, DiscoverResult, RegisterOptions, RendezvousClient, RendezvousClientInit, RendezvousPoint } from './types.ts'
import type { Namespace } from '../protocol/namespace.ts'
import type { AbortOptions, ComponentLogger, Logger, Metrics, PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'

export interface RendezvousClientComponents {
  peerId: PeerId
  privateKey: PrivateKey
  addressManager: AddressManager
  connectionManager: ConnectionManager
  logger: ComponentLogger
  metrics?: Metrics
  /** To read a point's identify agent: a `rust-libp2p/…` point gets legacy records (with `peerRecordFormat: 'auto'`) */
  peerStore?: PeerStore
}

const { MessageType, ResponseStatus } = Message

/** protons types its bytes fields as backed by an ArrayBuffer; copy only what is not (e.g. a SharedArrayBuffer view) */
function plainBytes (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)
}

/** ` (the point's text)` when it sent one */
function statusTextOf (response: { statusText?: string }): string {
  return response.statusText != null && response.statusText !== '' ? ` (${response.statusText})` : ''
}

const POSITIVE = integer({ min: 1 })

/** A positive whole number, or `undefined`; anything else is the caller's mistake */
function checkPositiveInteger (name: string, value: number | undefined): number | undefined {
  return value == null ? undefined : checkValue(POSITIVE, 'rendezvousClient', name, value)
}

export class DefaultRendezvousClient implements RendezvousClient {
  readonly [Symbol.toStringTag] = '@libp2p/rendezvous-client'
  readonly [serviceCapabilities]: string[] = ['@libp2p/rendezvous-client']

  private readonly components: RendezvousClientComponents
  private readonly log: Logger
  private readonly timeout: number
  private readonly maxDiscoverPages: number
  private readonly discoverLimit: number
  private readonly formats: PointFormats
  private readonly streams: PointStreams
  private readonly cookies: CookieJar
  private readonly metrics: ClientMetrics

  constructor (components: RendezvousClientComponents, init: RendezvousClientInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('libp2p:rendezvous:client')
    const config = resolveClientConfig(init)
    this.timeout = config.timeout
    this.maxDiscoverPages = config.maxDiscoverPages
    this.discoverLimit = config.discoverLimit
    this.formats = new PointFormats(components, config.peerRecordFormat, config.maxRememberedPoints)
    this.streams = new PointStreams(components.connectionManager, {
      protocol: config.protocol,
      maxResponseSize: config.maxResponseSize,
      runOnLimitedConnection: config.runOnLimitedConnection,
      reuseStreams: config.reuseStreams,
      maxStreamsPerPoint: config.maxStreamsPerPoint,
      idleTimeout: config.streamIdleTimeout,
      maxRememberedPoints: config.maxRememberedPoints,
      hungAfter: HUNG_AFTER_MS,
      log: this.log
    })
    this.cookies = new CookieJar(config.maxCookies)
    this.metrics = new ClientMetrics(components.metrics)
  }

  /** Nothing to start: streams are opened as requests need them */
  start (): void {}

  /** Closes the streams kept open to points; requests after this open new ones */
  async stop (): Promise<void> {
    await this.streams.closeAll()
  }

  async register (point: RendezvousPoint, namespace: string, options: RegisterOptions = {}): Promise<number> {
    const ns = parseNamespace(namespace)
    const ttl = checkPositiveInteger('ttl', options.ttl)
    const resolved = resolvePoint(point)
    const context = this.describe('REGISTER', ns, resolved)
    const multiaddrs = options.multiaddrs ?? this.components.addressManager.getAddresses()

    if (multiaddrs.length === 0) {
      throw new NoAddressesError(`${context}: this node has no addresses to register: listen on or announce one first`)
    }

    let attempt: RegisterAttempt = { format: await this.formats.formatFor(resolved), ttl, multiaddrs }
    const adjusted = new Set<string>()

    while (true) {
      try {
        const signedPeerRecord = await sealPeerRecord(this.components.privateKey, this.components.peerId, attempt.multiaddrs, undefined, attempt.format)
        const granted = await this.registerOnce(resolved, ns, signedPeerRecord, attempt.ttl, options, context)
        this.formats.worked(resolved, attempt.format)
        return granted
      } catch (err) {
        const next = await nextAttempt(resolved, attempt, err, adjusted, this.formats, this.log)

        if (next == null || options.signal?.aborted === true) {
          throw inContext(err, context)
        }

        attempt = next
      }
    }
  }

  private async registerOnce (point: ResolvedPoint, namespace: Namespace, signedPeerRecord: Uint8Array, ttl: number | undefined, options: AbortOptions, context: string): Promise<number> {
    const request: Message = {
      type: MessageType.REGISTER,
      register: {
        ns: namespace,
        signedPeerRecord: plainBytes(signedPeerRecord),
        ...(ttl == null ? {} : { ttl: BigInt(ttl) })
      }
    }

    const reply = await this.request('register', point, request, MessageType.REGISTER_RESPONSE, options, context)
    const response = reply.registerResponse ?? {}
    const status = response.status ?? ResponseStatus.OK
    this.metrics.count('register', status)

    if (status !== ResponseStatus.OK) {
      throw new RendezvousError(status, `${context}: refused with ${status}${statusTextOf(response)}`)
    }

    // proto3 peers omit a 0 ttl, and a u64 can claim centuries: rely only on [1, MAX_TTL_SECONDS]
    if (response.ttl == null || response.ttl <= 0n) {
      return ttl ?? DEFAULT_TTL_SECONDS
    }

    return response.ttl > BigInt(MAX_TTL_SECONDS) ? MAX_TTL_SECONDS : Number(response.ttl)
  }

  async unregister (point: RendezvousPoint, namespace: string, options: AbortOptions = {}): Promise<void> {
    const ns = parseNamespace(namespace)
    const resolved = resolvePoint(point)
    const context = this.describe('UNREGISTER', ns, resolved)

    // `id` is deprecated by the spec, which servers ignore, but legacy JS and Python servers ignore an
    // UNREGISTER without it
    const request: Message = {
      type: MessageType.UNREGISTER,
      unregister: {
        ns,
        id: this.components.peerId.toMultihash().bytes
      }
    }

    try {
      await send(resolved, request, this.exchangeOptions(options, context))
      this.metrics.count('unregister', 'sent')
    } catch (err) {
      this.metrics.count('unregister', 'error')
      throw inContext(err, context)
    }
  }

  async discover (point: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): Promise<DiscoverResult> {
    const ns = namespace == null ? undefined : parseNamespace(namespace)

    const limit = checkPositiveInteger('limit', options.limit === 0 ? undefined : options.limit) ?? this.discoverLimit
    const resolved = resolvePoint(point)
    const context = this.describe('DISCOVER', ns, resolved)
    let cookie = options.cookie === undefined ? this.cookies.get(resolved.id, ns) : options.cookie ?? undefined

    if (cookie?.byteLength === 0) {
      cookie = undefined
    }

    let response: Message.DiscoverResponse

    try {
      response = await this.discoverOnce(resolved, ns, limit, cookie, options, context)
    } catch (err) {
      // the cookie expired, belongs to another namespace or to a server that forgot it: start over
      if (cookie != null && hasStatus(err, ResponseStatus.E_INVALID_COOKIE)) {
        this.log('%s refused the cookie for %s, discovering from the start', resolved.id, ns ?? 'all namespaces')
        this.cookies.delete(resolved.id, ns)
        response = await this.discoverOnce(resolved, ns, limit, undefined, options, context)
      } else {
        throw inContext(err, context)
      }
    }

    const { registrations, dropped } = await verifyRegistrations(response.registrations ?? [], ns, this.log, resolved.id)
    const result: DiscoverResult = { registrations, dropped }

    if (response.cookie != null && response.cookie.byteLength > 0) {
      this.cookies.set(resolved.id, ns, response.cookie)
      result.cookie = response.cookie
    }

    this.log.trace('discovered %d registrations (%d dropped) in %s at %s', registrations.length, dropped, ns ?? 'all namespaces', resolved.id)

    return result
  }

  private async discoverOnce (point: ResolvedPoint, namespace: Namespace | undefined, limit: number, cookie: Uint8Array | undefined, options: AbortOptions, context: string): Promise<Message.DiscoverResponse> {
    const request: Message = {
      type: MessageType.DISCOVER,
      discover: {
        ...(namespace == null ? {} : { ns: namespace }),
        limit: BigInt(limit),
        ...(cookie == null ? {} : { cookie: plainBytes(cookie) })
      }
    }

    const reply = await this.request('discover', point, request, MessageType.DISCOVER_RESPONSE, options, context)
    const response = reply.discoverResponse ?? { registrations: [] }
    const status = response.status ?? ResponseStatus.OK
    this.metrics.count('discover', status)

    // Nim answers E_INVALID_NAMESPACE for a namespace nobody registered in; ours was checked locally, so
    // this means "nothing there"
    if (status === ResponseStatus.E_INVALID_NAMESPACE && namespace != null) {
      this.log('%s answered E_INVALID_NAMESPACE for "%s", read as an empty result', point.id, namespace)
      return { registrations: [] }
    }

    if (status !== ResponseStatus.OK) {
      throw new RendezvousError(status, `${context}: refused with ${status}${statusTextOf(response)}`)
    }

    return response
  }

  async * discoverAll (point: RendezvousPoint, namespace?: string, options: DiscoverOptions = {}): AsyncGenerator<DiscoveredRegistration> {
    const limit = options.limit == null || options.limit === 0 ? this.discoverLimit : options.limit
    // a re-registration is new to a cookie and may show up twice in one walk; some servers (offset pagination,
    // canvas) also repeat entries: yield each record once
    const seen = new Set<string>()
    let cookie = options.cookie

    for (let page = 0; page < this.maxDiscoverPages; page++) {
      options.signal?.throwIfAborted()

      const result = await this.discover(point, namespace, { ...options, limit, cookie })
      let fresh = 0

      for (const registration of result.registrations) {
        const key = `${registration.peerId.toString()}\u0000${registration.namespace}\u0000${registration.seqNumber}`

        if (seen.has(key)) {
          continue
        }

        seen.add(key)
        fresh++
        yield registration
        options.signal?.throwIfAborted()
      }

      const received = result.registrations.length + result.dropped

      if (received === 0 || result.cookie == null || received < limit) {
        return
      }

      // no progress: a page of records already yielded, or the same cookie back, gives the same again
      if ((fresh === 0 && result.dropped === 0) || (cookie != null && uint8ArrayEquals(cookie, result.cookie))) {
        this.log('%s makes no progress, stopping the walk', String(point))
        return
      }

      cookie = result.cookie
    }

    this.log('stopped discovering %s after %d pages', namespace ?? 'all namespaces', this.maxDiscoverPages)
  }

  resetCookies (point: RendezvousPoint, namespace?: string): void {
    const { id } = resolvePoint(point)

    if (namespace == null) {
      this.cookies.deletePoint(id)
    } else {
      this.cookies.delete(id, namespace)
    }
  }

  /** One request and its reply, which must be of `expected` type */
  private async request (kind: RequestKind, point: ResolvedPoint, request: Message, expected: Message.MessageType, options: AbortOptions, context: string): Promise<Message> {
    let reply: Message

    try {
      reply = await exchange(point, request, this.exchangeOptions(options, context))
    } catch (err) {
      this.metrics.count(kind, 'error')
      throw err
    }

    // a missing type is REGISTER (0), as proto3 peers omit zero enums, and so wrong here too
    const type = reply.type ?? MessageType.REGISTER

    if (type !== expected) {
      this.metrics.count(kind, 'error')
      throw new InvalidResponseError(`${context}: answered with ${type} instead of ${expected}`)
    }

    return reply
  }

  private exchangeOptions (options: AbortOptions, context: string): ExchangeOptions {
    return {
      streams: this.streams,
      timeout: this.timeout,
      signal: options.signal,
      log: this.log,
      context
    }
  }

  /** What the errors of a request start with: the request and the point */
  private describe (type: RequestType, namespace: string | undefined, point: ResolvedPoint): string {
    return describeRequest(type, namespace, point, this.components.connectionManager)
  }
}
