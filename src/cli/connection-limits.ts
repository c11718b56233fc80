/**
 * The limits on connections that the command's node keeps besides libp2p's own, so that one peer, or many idle
 * ones, cannot take the point's connection slots from everyone else.
 *
 * libp2p refuses an inbound connection once `maxConnections` are open and prunes only above it, so connections
 * that fill the slots stay: one peer id that opened 20 connections to a point with `--max-connections 20` kept an
 * honest peer out for as long as it liked, and idle connections were never closed (issue 20, item 7). Here:
 *
 * Per peer: a peer that already holds `maxConnectionsPerPeer` connections is refused after the encryption
 * handshake (the connection gater), and a connection that gets past that check in a burst of parallel ones is
 * closed as soon as it opens.
 *
 * Idle ones, when slots run short: while more than 90% of `maxConnections` are open, an inbound connection that
 * has had no stream for `idleTimeout` is closed, unless its peer holds a relay reservation (it keeps its
 * connection idle on purpose). The connections are looked over every second (a quarter of `idleTimeout` when that
 * is shorter), and one with a stream open then counts as active: a client that keeps its streams (ours, Go's
 * `DiscoverAsync`) is seen, a request on a stream of its own lasts milliseconds and may not be; such a client is
 * only dialled again at its next request. (libp2p's stream middleware would see every stream, but libp2p 3.3
 * appends each stream's handler to the registered middleware array, so that later streams run it several
 * times.) Below the 90% nothing is closed: an idle connection costs a point little, and closing it would make the
 * keep-alive tags of discovery nodes dial again.
 */
import { repeatingTask } from '@libp2p/utils'
import type { Connection, ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import type { RepeatingTask } from '@libp2p/utils'

export interface ConnectionLimitsInit {
  maxConnections: number
  maxConnectionsPerPeer: number
  /** ms an inbound connection may go without a stream before it is closed, while slots run short */
  idleTimeout: number
}

/** Share of `maxConnections` above which idle connections are closed */
const CROWDED = 0.9

export class ConnectionLimits {
  private readonly init: ConnectionLimitsInit
  /** When each connection last had a stream; a connection not in it counts from its opening */
  private readonly lastActive = new WeakMap<Connection, number>()
  private node?: Libp2p
  private spare?: (peerId: PeerId) => boolean
  private reaper?: RepeatingTask

  constructor (init: ConnectionLimitsInit) {
    this.init = init
    this.onConnectionOpen = this.onConnectionOpen.bind(this)
  }

  /** For the node's `connectionGater`: refuses a peer that already holds its share, before its muxer is set up */
  gater (): ConnectionGater {
    return {
      denyInboundEncryptedConnection: (peerId) => (this.node?.getConnections(peerId).length ?? 0) >= this.init.maxConnectionsPerPeer
    }
  }

  /** Starts watching `node`, once it has started; the idle connections of peers `spare` names are kept */
  start (node: Libp2p, spare?: (peerId: PeerId) => boolean): void {
    this.node = node
    this.spare = spare
    node.addEventListener('connection:open', this.onConnectionOpen)

    // often enough that a connection lives at most a quarter past its idle time, rarely enough to cost nothing
    this.reaper = repeatingTask(() => { this.closeIdle() }, Math.max(50, Math.min(1000, this.init.idleTimeout / 4)))
    this.reaper.start()
  }

  stop (): void {
    this.reaper?.stop()
    this.node?.removeEventListener('connection:open', this.onConnectionOpen)
  }

  /** A connection that got past the gater beside others of its peer (they upgrade in parallel) is one too many */
  private onConnectionOpen (evt: CustomEvent<Connection>): void {
    const connection = evt.detail
    const others = this.node?.getConnections(connection.remotePeer).filter(other => other.id !== connection.id) ?? []

    if (connection.direction === 'inbound' && others.length >= this.init.maxConnectionsPerPeer) {
      connection.abort(new Error(`the peer already holds ${others.length} connections, the most one peer may`))
    }
  }

  private closeIdle (): void {
    const connections = this.node?.getConnections() ?? []

    if (connections.length <= this.init.maxConnections * CROWDED) {
      return
    }

    const now = Date.now()

    for (const connection of connections) {
      if (connection.streams.length > 0) {
        this.lastActive.set(connection, now)
        continue
      }

      const since = this.lastActive.get(connection) ?? connection.timeline.open

      if (connection.direction === 'inbound' && now - since >= this.init.idleTimeout && this.spare?.(connection.remotePeer) !== true) {
        connection.abort(new Error(`idle for ${now - since} ms while connections run short`))
      }
    }
  }
}
