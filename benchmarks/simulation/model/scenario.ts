/**
 * What a simulated network is: how many nodes, how they come and go, what they subscribe to, how the network
 * between them behaves, and the options their discovery modules and the points run with. The presets the
 * simulator runs and the docs quote are in `scenarios.ts`.
 */
import type { RendezvousDiscoveryInit } from '../../../src/discovery/index.ts'
import type { RendezvousServerInit } from '../../../src/server/options.ts'

export interface LatencyModel {
  /**
   * Each node's one-way delay to the core of the network is drawn uniformly from this range (ms); the round trip
   * between two nodes is the sum of theirs, so `[10, 150]` gives round trips of 20-300 ms
   */
  accessDelayMs: [number, number]
  /** The rendezvous points' own one-way delay to the core (ms): a data centre, usually small */
  pointAccessDelayMs: number
  /** Round trips a new connection takes before it carries a request: TCP, Noise XX, multistream-select and yamux */
  handshakeRtts: number
  /** Round trips a request on an open connection takes (multistream-select of the protocol, then the request) */
  requestRtts: number
  /** Round trips a relayed dial takes on top of the two legs' handshakes (the relay's HOP/STOP exchange, a WebRTC upgrade) */
  relayedExtraRtts: number
  /** Round trips until pubsub knows a new connection's subscriptions (identify, then the subscription exchange) */
  subscriptionRtts: number
  /**
   * How a dial to a peer that is gone ends: refused after one round trip with this probability (its host or its
   * relay answers), otherwise by the dial timeout (nothing answers)
   */
  deadDialRefusedShare: number
  /** How long a dial that nothing answers takes to fail at most, ms (libp2p's own dial timeout) */
  deadDialTimeoutMs: number
}

/**
 * The CPU of a real multi-process run, for the validation against one: the nodes run in several OS processes (node
 * groups) beside one point process, and every process is one event loop that does its work one piece after the
 * other, while the machine's cores are shared by the processes that have work (model/machine.ts). Absent in the scale
 * scenarios: each node there has a CPU of its own, and the times are the network's.
 *
 * Every figure is measured by the validation's calibration step (benchmarks/simulation/real/calibrate.ts) on the
 * same machine, in the same minutes, on real nodes built as the run's are; none is fitted to the run's results.
 */
export interface ProcessModel {
  /** Cores the run's processes share: what busy processes got of the machine when measured */
  cores: number
  /** Nodes in each node-group process, in order: node i of the run is in the group its index falls in */
  groups: number[]
  costs: ProcessCosts
}

/** CPU time, ms, of each piece of work, in the process that does it */
export interface ProcessCosts {
  /** Creating and starting one node (libp2p and its services), in its group */
  nodeStartMs: number
  /**
   * One connection between two nodes, until each end's pubsub knows the other's topics: the dialing end's CPU
   * and the dialed end's (handshake, identify, gossipsub's streams and subscriptions)
   */
  connection: { dialerMs: number, listenerMs: number }
  /** A node's connection to the point: the node's CPU and the point's */
  pointConnection: { dialerMs: number, pointMs: number }
  /** A REGISTER (a record the point has not seen): the sender's CPU (sealing the record, the exchange) and the point's */
  register: { clientMs: number, pointMs: number }
  /**
   * A DISCOVER: the sender's CPU (the exchange, and checking each record returned) and the point's (the store's
   * page, each record written)
   */
  discover: { clientMs: number, clientPerRecordMs: number, pointMs: number, pointPerRecordMs: number }
  /**
   * What a node costs its process while nothing happens (gossipsub's heartbeat, the connection monitor's pings,
   * the discovery module's timers), per `periodMs`: per node, and per connection it holds
   */
  idle: { periodMs: number, perNodeMs: number, perConnectionMs: number }
  /**
   * What the network adds besides the CPU, ms: a round trip between two nodes; a connection to the point and a
   * request on it (each less the CPU of both ends, so the round trips they take through whatever lies between)
   */
  latency: { nodeRttMs: number, pointConnectMs: number, pointRequestMs: number }
}

export interface ChurnModel {
  /** Median session length, ms */
  medianSessionMs: number
  /** Shape of the log-normal session length (the standard deviation of its logarithm) */
  sessionSigma: number
  /** Share of departures that stop the node cleanly (UNREGISTER sent); the rest vanish (a closed tab, a crash) */
  cleanLeaveShare: number
}

export interface TopicModel {
  /** Topics in the network */
  count: number
  /** Zipf exponent of their popularity */
  zipf: number
  /** Topics per node: drawn uniformly from this range, without repeats */
  perNode: [number, number]
}

export interface Scenario {
  /** Short name, used on the command line and in the results */
  name: string
  /** One line: what the scenario shows */
  description: string
  seed: number
  /** Nodes online at steady state (and started at the beginning) */
  nodes: number
  /** The starting nodes join over this long, uniformly, ms (0: all at once) */
  rampMs: number
  /** Simulated time in all, ms */
  durationMs: number
  /** Steady-state figures are taken from this moment on, ms */
  measureFromMs: number
  /** No churn when absent: the starting nodes stay to the end */
  churn?: ChurnModel
  topics: TopicModel
  /** Share of nodes that cannot be dialed directly (browsers): they need relays */
  browserShare: number
  /** Share of the other nodes that run a circuit relay server (they register under `/libp2p/relay`) */
  relayShare: number
  /** Reservations one relay holds at most (circuit-relay-v2's maxReservations; its default is 15) */
  relayMaxReservations: number
  /** maxConnections of a directly reachable node and of a browser node */
  maxConnections: { public: number, browser: number }
  /** Rendezvous points every node knows and uses */
  points: number
  latency: LatencyModel
  /**
   * Share of the nodes that run the real discovery module (drawn per node as it joins; 1 when absent). The others
   * are light nodes (model/light-node.ts): they register, refresh and unregister through the same client model
   * and real point handlers, accept connections and reservations, and nothing more. Times to quota and request
   * rates come from the real nodes only; the light ones give the store its size, the namespaces their members
   * and the real nodes peers to dial, at a cost per node a 100k network fits in
   */
  realShare?: number
  /** Only for the validation scenarios, see {@link ProcessModel} */
  processes?: ProcessModel
  /** Options of every node's discovery module (points, relay mode and addresses are the simulator's) */
  discovery: RendezvousDiscoveryInit
  /** Options of every point (the store is the simulator's: a memory store each) */
  server: Omit<RendezvousServerInit, 'store'>
  /**
   * Fill the points' stores at the start with the registrations that nodes which left without unregistering would
   * have left behind at steady state (they run out over one TTL), as if the network had been running for longer
   * than a TTL
   */
  warmStart: boolean
  /** The interval pubsub-peer-discovery is compared at, ms (its default is 10 s) */
  pubsubDiscoveryIntervalMs: number
  /** Without churn: end the run once every node has reached its quotas (as the real benchmark does) */
  stopAtQuota?: boolean
  /** Bound on the whole run's wall time, ms: a run that would take longer stops and says so */
  wallLimitMs: number
}
