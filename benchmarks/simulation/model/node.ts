/**
 * A simulated node: this package's real `RendezvousDiscovery`, given the libp2p components it uses, each reduced
 * to what the module calls and backed by the simulated network instead of sockets:
 *
 * - the connection manager: the node's connections, its `maxConnections`, and dials through the network model
 * (`openConnection`); connections past `maxConnections` are pruned as libp2p does (lowest tag value first,
 * inbound before outbound, newest first);
 * - the peer store: the tags the module sets (the pruning reads them) and records it stores (accepted as is);
 * - the address manager: a public node's one address, verified; a browser's circuit addresses, one per relay
 * reservation it holds;
 * - the transport manager: `/p2p-circuit` listeners, each of which reserves a slot on a connected relay, as the
 * circuit relay transport does;
 * - the registrar: the relay's hop protocol on nodes that run a relay server;
 * - pubsub: the node's topics and the subscriptions learned from connected peers.
 *
 * Events are libp2p's (`peer:connect`, `peer:disconnect`, `transport:listening`, `transport:close`,
 * `self:peer:update`), dispatched when the simulated state changes, so that the module reacts as it would on a
 * real node.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { RELAY_HOP_PROTOCOL } from '../../../src/discovery/constants.ts'
import { RendezvousDiscovery } from '../../../src/discovery/index.ts'
import { noopComponentLogger } from './logger.ts'
import { SimPubSub } from './pubsub.ts'
import type { Identity, SimRecord } from './identities.ts'
import type { SimProcess } from './machine.ts'
import type { RendezvousClient } from '../../../src/client/types.ts'
import type { Runtime } from '../../../src/discovery/clock.ts'
import type { RendezvousDiscoveryInit } from '../../../src/discovery/index.ts'
import type { AbortOptions, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The other end of a connection: a node, or a rendezvous point */
export interface Endpoint {
  identity: Identity
  /** One-way delay to the core of the network, ms */
  accessDelay: number
}

export interface SimConnection {
  /** The node holding this end */
  local: SimNode
  remotePeer: PeerId
  remote: Endpoint
  status: 'open' | 'closed'
  direction: 'inbound' | 'outbound'
  timeline: { open: number }
  streams: []
  /** The same connection as the other end holds it (none for a point's end) */
  pair?: SimConnection
}

/** What a node needs of the world around it */
export interface NodeNetwork {
  /** Dials `peer` from `node`: resolves to the open connection, rejects as a failed dial does */
  dial(node: SimNode, peer: PeerId, options: AbortOptions): Promise<SimConnection>
  /** Closes a connection at both ends */
  close(connection: SimConnection): void
  /** A `/p2p-circuit` listener of `node` wants a reservation */
  reserve(node: SimNode): void
}

export type NodeKind = 'public' | 'browser'

/** A `/p2p-circuit` listener: one reservation on one relay, once it holds one */
export class SimListener extends TypedEventEmitter<any> {
  relay?: SimNode
  address?: Multiaddr
  /** A reservation request is on its way */
  reserving = false
  closed = false
  private readonly node: SimNode

  constructor (node: SimNode) {
    super()
    this.node = node
  }

  async close (): Promise<void> {
    if (this.closed) {
      return
    }

    this.closed = true
    this.node.releaseReservation(this)
    this.node.events.safeDispatchEvent('transport:close', { detail: this as any })
  }
}

/** Times (ms since the node joined) at which it first reached what it wants */
export interface NodeTimes {
  /** Per topic: `quotas.topic` connected peers that pubsub lists as subscribed */
  topics: Map<string, number | undefined>
  /** `quotas.relay` connected relays (browsers only) */
  relayQuota?: number
  /** A first relay reservation, so that others can dial it (browsers only) */
  reachable?: number
}

export interface SimNodeInit {
  identity: Identity
  kind: NodeKind
  runsRelay: boolean
  topics: string[]
  accessDelay: number
  maxConnections: number
  /** The node's own address, when it has one others can dial */
  address?: Multiaddr
  /**
   * A light node (model/light-node.ts) runs no discovery module: `discovery` and `client` are not used, and a
   * browser among them is reached through the relay the simulation assigns it (`lightRelay`)
   */
  light?: boolean
  discovery: RendezvousDiscoveryInit
  runtime: Runtime
  network: NodeNetwork
  /** Seals the node's record for a set of addresses */
  seal(identity: Identity, addresses: Multiaddr[]): SimRecord
  /** The node's rendezvous client, made for it */
  client(node: SimNode): RendezvousClient
}

const circuitTransport = {
  listenFilter: (addrs: Multiaddr[]) => addrs.filter(ma => ma.toString() === '/p2p-circuit')
}

export class SimNode implements Endpoint {
  readonly identity: Identity
  readonly kind: NodeKind
  readonly runsRelay: boolean
  readonly topics: string[]
  readonly accessDelay: number
  readonly maxConnections: number
  readonly events = new TypedEventEmitter<Libp2pEvents>()
  readonly pubsub: SimPubSub
  /** The real discovery module; none on a light node */
  readonly module?: RendezvousDiscovery
  readonly light: boolean
  /** A light browser's relay: it holds a reservation there without a listener or a connection of its own */
  lightRelay?: SimNode
  readonly times: NodeTimes
  online = false
  joinedAt = 0
  /**
   * When the node's start-up ended and its discovery module started: what its times to quota count from (the
   * moment it joined, unless a process model makes the start-up take time, as a node group measures from there)
   */
  startedAt = 0
  /** The OS process it runs in, in a run with a process model */
  process?: SimProcess
  /** How it left, once it has: stopped cleanly (UNREGISTER sent) or vanished */
  departure?: 'clean' | 'vanished'
  /** Requests this node's client sent, by type */
  readonly sent = { register: 0, discover: 0, unregister: 0 }
  /** DISCOVERs sent when it first reached the quota of its first topic */
  discoversAtQuota?: number
  /** Connections by remote peer id */
  readonly byPeer = new Map<string, SimConnection>()
  /** Dials in flight, by remote peer id: a second dial of the same peer joins the first, as libp2p's does */
  readonly dialing = new Map<string, Promise<SimConnection>>()
  /** Reservations this relay holds, by the id of the node that holds each */
  readonly reservations = new Set<string>()
  private connections: SimConnection[] = []
  private readonly listeners: SimListener[] = []
  /** Sum of tag values per remote peer, as the peer store holds them */
  private readonly tagValues = new Map<string, Map<string, number>>()
  private readonly ownAddress?: Multiaddr
  private readonly network: NodeNetwork
  private readonly sealRecord: SimNodeInit['seal']
  private record?: { key: string, record: SimRecord }

  constructor (init: SimNodeInit) {
    this.identity = init.identity
    this.kind = init.kind
    this.runsRelay = init.runsRelay
    this.topics = init.topics
    this.accessDelay = init.accessDelay
    this.maxConnections = init.maxConnections
    this.ownAddress = init.address
    this.network = init.network
    this.sealRecord = init.seal
    this.pubsub = new SimPubSub(init.topics)
    this.times = { topics: new Map(init.topics.map(topic => [topic, undefined])) }
    this.light = init.light === true

    if (this.light) {
      return
    }

    const components = {
      peerId: init.identity.peerId,
      privateKey: undefined,
      peerStore: this.peerStore,
      registrar: this.registrar,
      connectionManager: this.connectionManager,
      addressManager: this.addressManager,
      transportManager: this.transportManager,
      events: this.events,
      logger: noopComponentLogger,
      pubsub: this.pubsub
    }
    this.module = new RendezvousDiscovery(components as any, { ...init.discovery, client: init.client(this) }, init.runtime)
  }

  get id (): string {
    return this.identity.id
  }

  get peerId (): PeerId {
    return this.identity.peerId
  }

  get connectionCount (): number {
    return this.connections.length
  }

  /** The node's addresses now: its own, or one circuit address per reservation */
  addresses (): Multiaddr[] {
    if (this.ownAddress != null) {
      return [this.ownAddress]
    }

    if (this.light) {
      const relay = this.reservedRelay()
      return relay == null ? [] : [circuitAddress(relay)]
    }

    const out: Multiaddr[] = []

    for (const listener of this.listeners) {
      if (listener.address != null) {
        out.push(listener.address)
      }
    }

    return out
  }

  /** The record for `addresses`, sealed once per set of addresses */
  recordFor (addresses: Multiaddr[]): SimRecord {
    const key = addresses.map(ma => ma.toString()).join(' ')

    if (this.record?.key !== key) {
      this.record = { key, record: this.sealRecord(this.identity, addresses) }
    }

    return this.record.record
  }

  /** A relay through which this node can be dialed now */
  reservedRelay (): SimNode | undefined {
    if (this.light) {
      return this.lightRelay?.online === true && this.lightRelay.reservations.has(this.id) ? this.lightRelay : undefined
    }

    for (const listener of this.listeners) {
      if (listener.relay?.online === true) {
        return listener.relay
      }
    }

    return undefined
  }

  /** Listeners waiting for a reservation */
  unreservedListeners (): SimListener[] {
    return this.listeners.filter(l => !l.closed && l.relay == null && !l.reserving)
  }

  /** Relays this node holds a reservation on, or is asking one of */
  relaysInUse (): Set<string> {
    const used = new Set<string>()

    for (const listener of this.listeners) {
      if (listener.relay != null) {
        used.add(listener.relay.id)
      }
    }

    return used
  }

  /** A reservation was made on `relay` for `listener` */
  reserved (listener: SimListener, relay: SimNode, address: Multiaddr): void {
    listener.relay = relay
    listener.address = address
    relay.reservations.add(this.id)
    this.events.safeDispatchEvent('transport:listening', { detail: listener as any })
  }

  /** The listener lost its reservation (closed, or its relay went away); it stays, free for the next relay */
  releaseReservation (listener: SimListener): void {
    const relay = listener.relay

    if (relay == null) {
      return
    }

    relay.reservations.delete(this.id)
    listener.relay = undefined
    listener.address = undefined

    if (!listener.closed) {
      this.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
      this.network.reserve(this)
    }
  }

  connectionTo (id: string): SimConnection | undefined {
    return this.byPeer.get(id)
  }

  /** A connection opened (either way) */
  attach (connection: SimConnection): void {
    this.connections.push(connection)
    this.byPeer.set(connection.remotePeer.toString(), connection)
    this.events.safeDispatchEvent('peer:connect', { detail: connection.remotePeer })
  }

  /** A connection closed (either way) */
  detach (connection: SimConnection): void {
    const id = connection.remotePeer.toString()

    if (this.byPeer.get(id) !== connection) {
      return
    }

    this.byPeer.delete(id)
    this.connections = this.connections.filter(c => c !== connection)
    this.pubsub.forget(id)

    for (const listener of this.listeners) {
      if (listener.relay?.id === id) {
        this.releaseReservation(listener)
      }
    }

    // a relay losing the connection to a node loses the node's reservation
    this.reservations.delete(id)
    this.events.safeDispatchEvent('peer:disconnect', { detail: connection.remotePeer })
  }

  /** Closes connections past `maxConnections`, lowest value first, as libp2p's connection pruner does */
  prune (): void {
    const excess = this.connections.length - this.maxConnections

    if (excess <= 0) {
      return
    }

    const value = (c: SimConnection): number => {
      const id = c.remotePeer.toString()
      // a relay holding this node's reservation is kept alive by the circuit relay transport
      const reserved = this.listeners.some(l => l.relay?.id === id) ? 100 : 0
      let sum = reserved

      for (const tag of this.tagValues.get(id)?.values() ?? []) {
        sum += tag
      }

      return sum
    }

    const order = [...this.connections].sort((a, b) =>
      (value(a) - value(b)) ||
      ((a.direction === 'inbound' ? 0 : 1) - (b.direction === 'inbound' ? 0 : 1)) ||
      (b.timeline.open - a.timeline.open))

    for (const connection of order.slice(0, excess)) {
      this.network.close(connection)
    }
  }

  /** Starts the node's discovery module (`joinedAt` and `startedAt` are set by whoever starts it) */
  start (): void {
    this.online = true
    this.module?.start()
    this.module?.afterStart()
  }

  readonly peerStore = {
    merge: async (peer: PeerId, data: { tags?: Record<string, { value?: number } | undefined> }): Promise<any> => {
      if (data.tags == null) {
        return {}
      }

      const id = peer.toString()
      let tags = this.tagValues.get(id)

      for (const [name, tag] of Object.entries(data.tags)) {
        if (tag == null) {
          tags?.delete(name)
        } else {
          tags ??= new Map()
          tags.set(name, tag.value ?? 0)
          this.tagValues.set(id, tags)
        }
      }

      if (tags?.size === 0) {
        this.tagValues.delete(id)
      }

      return {}
    },
    consumePeerRecord: async (): Promise<boolean> => true
  }

  readonly registrar = {
    getProtocols: (): string[] => this.runsRelay ? [RELAY_HOP_PROTOCOL] : []
  }

  readonly connectionManager = {
    getConnections: (): SimConnection[] => this.connections,
    getMaxConnections: (): number => this.maxConnections,
    openConnection: async (peer: PeerId, options: AbortOptions = {}): Promise<SimConnection> => this.network.dial(this, peer, options)
  }

  readonly addressManager = {
    getAddresses: (): Multiaddr[] => this.addresses(),
    getAddressesWithMetadata: (): Array<{ multiaddr: Multiaddr, verified: boolean }> =>
      this.addresses().map(ma => ({ multiaddr: ma, verified: this.ownAddress != null })),
    getListenAddrs: (): Multiaddr[] => []
  }

  readonly transportManager = {
    listen: async (addrs: Multiaddr[]): Promise<void> => {
      for (const addr of addrs) {
        if (circuitTransport.listenFilter([addr]).length === 0) {
          throw new Error(`no transport listens on ${addr.toString()}`)
        }

        this.listeners.push(new SimListener(this))
      }

      this.network.reserve(this)
    },
    getListeners: (): SimListener[] => this.listeners.filter(l => !l.closed),
    getTransports: () => [circuitTransport]
  }
}

/** A circuit address through `relay` */
export function circuitAddress (relay: SimNode): Multiaddr {
  return multiaddr(`${relay.addresses()[0]?.toString() ?? ''}/p2p/${relay.id}/p2p-circuit`)
}
