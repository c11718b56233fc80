/**
 * The scenarios `npm run simulate` runs and the docs quote. Every figure in docs/sizing.md comes from one of these,
 * by name; change one and the docs' tables change with it.
 */
import type { LatencyModel, ProcessModel, Scenario } from './model/scenario.ts'

/**
 * The internet: round trips of 20-300 ms between nodes (each node's share drawn uniformly), points in data
 * centres; a connection takes 3 round trips (TCP, Noise XX, multistream-select and yamux), a request 2 (the
 * protocol's negotiation, then the request); pubsub knows a new peer's subscriptions 2 round trips after the
 * connection opened (identify, then gossipsub's hello); half of the dials of a peer that is gone are refused
 * within a round trip, the other half wait out libp2p's 6 s address dial timeout.
 */
export const INTERNET: LatencyModel = {
  accessDelayMs: [10, 150],
  pointAccessDelayMs: 10,
  handshakeRtts: 3,
  requestRtts: 2,
  relayedExtraRtts: 2,
  subscriptionRtts: 2,
  deadDialRefusedShare: 0.5,
  deadDialTimeoutMs: 6000
}

/**
 * Nodes that run the real discovery module in each network, on average: enough for percentiles of the time to
 * quota and for the request rates, few enough that each scale costs about the same (the module keeps up to 1000
 * candidates per namespace and rebuilds its rings from them: a megabyte and some milliseconds per node)
 */
const REAL_NODES = 80

/**
 * A network at the scale of `nodes`: churn, topics, browsers and relays as an application of that size might have.
 * `real` of them on average run the real discovery module, the others are light nodes (see model/light-node.ts)
 */
function scale (name: string, nodes: number, real: number, durationMs: number, rampMs: number, wallLimitMs: number): Scenario {
  return {
    name,
    description: `${nodes.toLocaleString('en-US')} nodes online, ${Math.min(real, nodes).toLocaleString('en-US')} of them running the real module: sessions of 30 min median (log-normal, sigma 1), half of them ending without UNREGISTER; ${Math.max(10, nodes / 100)} topics of Zipf popularity, 1-3 per node; 30% browsers that need relays, 10% of the others run one; 2 points; defaults everywhere`,
    seed: 1,
    nodes,
    rampMs,
    durationMs,
    measureFromMs: rampMs + 3 * 60_000,
    churn: { medianSessionMs: 30 * 60_000, sessionSigma: 1, cleanLeaveShare: 0.5 },
    topics: { count: Math.max(10, nodes / 100), zipf: 1, perNode: [1, 3] },
    browserShare: 0.3,
    relayShare: 0.1,
    relayMaxReservations: 15,
    maxConnections: { public: 300, browser: 100 },
    points: 2,
    latency: INTERNET,
    realShare: Math.min(1, real / nodes),
    discovery: {},
    server: {},
    warmStart: true,
    pubsubDiscoveryIntervalMs: 10_000,
    wallLimitMs
  }
}

/**
 * The real multi-process run of the validation (benchmarks/simulation/real/): N nodes in node-group processes beside
 * one point process, started together, one topic, one point, no churn, every option at its default, until every
 * node has 6 topic peers. What the processes cost and the delays between them come from the validation's
 * calibration on the machine of the day (`processes`, given by `run-one.ts --processes`); without one a validation
 * scenario does not run.
 */
function validation (nodes: number): Scenario {
  return {
    name: `validate-${nodes}`,
    description: `${nodes} nodes in node-group processes beside a point process, started together, one topic, one point, no churn (the real multi-process run's setting)`,
    seed: 1,
    nodes,
    rampMs: 0,
    durationMs: 120_000,
    measureFromMs: 120_000,
    topics: { count: 1, zipf: 1, perNode: [1, 1] },
    browserShare: 0,
    relayShare: 0,
    relayMaxReservations: 15,
    maxConnections: { public: 300, browser: 100 },
    points: 1,
    // only the dead dials' figures are read from here: the delays of a process model are its own (costs.latency)
    latency: INTERNET,
    discovery: {},
    server: {},
    warmStart: false,
    stopAtQuota: true,
    pubsubDiscoveryIntervalMs: 10_000,
    wallLimitMs: 5 * 60_000
  }
}

/** The scenario of this name: a preset, or `validate-<n>` for a validation at any size */
export function scenarioNamed (name: string): Scenario | undefined {
  const size = /^validate-(\d+)$/.exec(name)
  return SCENARIOS[name] ?? (size == null ? undefined : validation(Number(size[1])))
}

/** A validation scenario as the real run it is compared with was set up: its node groups, and the calibration's figures */
export function validationScenario (nodes: number, processes: ProcessModel, seed: number): Scenario {
  if (processes.groups.reduce((a, b) => a + b, 0) !== nodes) {
    throw new Error(`the node groups hold ${processes.groups.join(' + ')} nodes, not ${nodes}`)
  }

  return { ...validation(nodes), processes, seed }
}

/** `base` on 20 points, each namespace placed on 3 of them by the module's highest-random-weight hashing */
function pointNetwork (base: Scenario): Scenario {
  return {
    ...base,
    description: base.description.replace('2 points; defaults everywhere', '20 points, each namespace on 3 by weight (configuredFallback and learnPoints off); defaults elsewhere'),
    points: 20,
    discovery: { ...base.discovery, pointsPerNamespace: 3, configuredFallback: false, learnPoints: false }
  }
}

/** Small enough for the test suite (seconds), with every feature on: churn, warm start, browsers, relays, two points */
export const CI: Scenario = {
  ...scale('ci', 40, 40, 5 * 60_000, 30_000, 10 * 60_000),
  description: '40 nodes, sessions of 3 min median, 5 simulated minutes: every feature of the model in a few seconds',
  measureFromMs: 2 * 60_000,
  churn: { medianSessionMs: 3 * 60_000, sessionSigma: 1, cleanLeaveShare: 0.5 },
  topics: { count: 4, zipf: 1, perNode: [1, 2] },
  relayShare: 0.2,
  // TTLs in proportion to the short sessions, or the stores fill with the registrations of nodes long gone
  discovery: { ttl: 300 },
  server: { minTtl: 60 }
}

export const SCENARIOS: Record<string, Scenario> = {
  'validate-50': validation(50),
  'validate-200': validation(200),
  ci: CI,
  '1k': scale('1k', 1_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000),
  '10k': scale('10k', 10_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000),
  '100k': scale('100k', 100_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000),
  // the networks of 1k and 100k nodes on 20 points, each namespace on its 3 points by highest random weight
  // (configuredFallback off: every node is given all 20, so the fallback would register at all of them; learning
  // off: the simulated points keep no list under /libp2p/rendezvous), against the 2 points of '1k' and '100k'
  '1k-20-points': pointNetwork(scale('1k-20-points', 1_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000)),
  '100k-20-points': pointNetwork(scale('100k-20-points', 100_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000)),
  // the 1k network with registrations of 15 minutes instead of the points' default 2 hours: what a TTL near the
  // sessions' length does to the registrations left behind, the dials of peers that are gone and the time to quota
  '1k-ttl-15min': {
    ...scale('1k-ttl-15min', 1_000, REAL_NODES, 12 * 60_000, 4 * 60_000, 10 * 60_000),
    discovery: { ttl: 900 }
  }
}
