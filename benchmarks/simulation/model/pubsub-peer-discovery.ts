/**
 * What `@libp2p/pubsub-peer-discovery` would cost the same network, for comparison. It is not simulated: its
 * traffic follows from two facts of its design. Every node publishes one announcement (its peer id and addresses)
 * per interval on one topic that every node subscribes to, and gossipsub floods every message to every subscriber.
 * A node forwards a message it sees for the first time to its mesh peers (D = 6) except the one it came from, so
 * each announcement crosses about N x (D - 1) links, and every node receives it about D - 1 times (once, plus
 * duplicates). Gossip (IHAVE/IWANT) and the announcements' signatures come on top and are left out, so these are
 * lower bounds.
 */

/** Gossipsub's mesh degree D */
const MESH_DEGREE = 6

/** Bytes of one announcement on the wire: a protobuf peer id and a few addresses, the message's signature and envelope */
const ANNOUNCEMENT_BYTES = 250

export interface PubsubDiscoveryCost {
  intervalMs: number
  /** Announcements published per second in the whole network */
  publishedPerSecond: number
  /** Messages received per node per second, duplicates included */
  receivedPerNodePerSecond: number
  /** Messages crossing links per second in the whole network */
  transmissionsPerSecond: number
  /** Bytes a node receives per hour */
  bytesPerNodePerHour: number
}

/** The cost for `nodes` nodes online on average */
export function pubsubDiscoveryCost (nodes: number, intervalMs: number): PubsubDiscoveryCost {
  const publishedPerSecond = nodes / (intervalMs / 1000)
  const receivedPerNodePerSecond = publishedPerSecond * (MESH_DEGREE - 1)

  return {
    intervalMs,
    publishedPerSecond,
    receivedPerNodePerSecond,
    transmissionsPerSecond: publishedPerSecond * nodes * (MESH_DEGREE - 1),
    bytesPerNodePerHour: receivedPerNodePerSecond * ANNOUNCEMENT_BYTES * 3600
  }
}
