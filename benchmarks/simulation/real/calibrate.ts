/**
 * The calibration step of the validation: every figure the simulator's process model (model/scenario.ts,
 * `ProcessModel`) is given, measured on this machine in the same minutes as the real rounds, on real processes in
 * the same layout, each piece of work on its own so that nothing of the run to be predicted is in it:
 *
 * 1. cores: what as many busy processes as the machine has cores get of it (capacity.ts);
 * 2. node start: two node-group processes (no point: no discovery work) create and start their nodes; their CPU
 * over it, per node;
 * 3. idle cost: the same processes left alone for a while, per node and second; then again once every node holds
 * `LINKS` connections, the difference per connection;
 * 4. a connection between two nodes: a node of group A dials a node of group B (the group's `ping` command), and
 * a second later each end's gossipsub lists the other as subscribed (checked after); the CPU of each process over
 * it, less its idle cost and less what the ping costs (measured on an open connection). Once
 * one connection at a time (`SEQUENTIAL` of them), and in batches of `CONCURRENT` at once, until every node holds
 * `LINKS` (what a handshake costs when many run together): the model takes the median of the batches, the table
 * shows both;
 * 5. round trips: libp2p pings between two nodes; to the point (which runs no ping service), the wall time of a
 * connection and of a request less the CPU of both ends (the point is behind the delaying proxy in `hosts`);
 * 6. requests: a child with plain libp2p nodes and the package's client (request-peers.ts) opens connections to
 * the point, REGISTERs, and DISCOVERs pages of none and of all the records registered; its own CPU and the point's
 * (from /proc) over each phase, per request and per record; once one request at a time and once `BATCH` at a time
 * (below libp2p's 10 pending inbound connections), of which the model takes the second.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostNetwork, NodeGroup, startPoint } from '../../../test/fixtures/hosts/index.ts'
import { median } from '../../lib/stats.ts'
import { probeCapacity } from './capacity.ts'
import { procSample, waitIdle } from './proc-stat.ts'
import type { Layout } from './multi-process-run.ts'
import type { Host, HostProcess, NodeGroupConfig } from '../../../test/fixtures/hosts/index.ts'
import type { ProcessCosts } from '../model/scenario.ts'

type RequestCosts = Pick<ProcessCosts, 'pointConnection' | 'register' | 'discover'>

const NODE_GROUP = fileURLToPath(new URL('../../../test/fixtures/hosts/node-group.ts', import.meta.url))
const REQUEST_PEERS = fileURLToPath(new URL('./request-peers.ts', import.meta.url))

/** Nodes per calibration group: pairs dialed one at a time, then pairs dialed all at once */
const SEQUENTIAL = 4
const CONCURRENT = 8
const PER_GROUP = SEQUENTIAL + CONCURRENT
/** Connections every calibration node holds in the end (for the idle cost of a connection) */
const LINKS = 4
const IDLE_MS = 4000
/** How long a batch of connections is given to exchange identify and gossipsub's subscriptions, ms */
const CONNECTION_SETTLE_MS = 1000
const SETTLE_MS = 2000
/** Let a connection's last messages land before its CPU is read */
const QUIET_MS = 300
const PINGS = 20
/** Client nodes of each half of the request calibration; DISCOVERs of the first half's node 0; requests at once */
const REGISTRANTS = 30
const DISCOVERS = 30
const BATCH = 8
const FULL = 'calibration/full'
const TOPIC = 'calibration/topic'

export interface Calibration {
  layout: Layout
  pointDelayMs: number
  /** Cores the rounds' processes could share: the median of the probes here, the cores other work left each round once validate-real.ts has run them */
  cores: number
  /** Each probe's result (before the calibration, and the ones the caller adds between rounds) */
  coreProbes: number[]
  costs: ProcessCosts
  /** The connection figures one at a time, beside the concurrent ones the model takes */
  connectionAlone: { dialerMs: number, listenerMs: number }
  /** The request figures one at a time, beside the ones `BATCH` at a time the model takes */
  requestsAlone: RequestCosts
  /** Idle CPU per connection per s in the first `SETTLE_MS` after the connections opened, before the steady state, ms */
  idleSettlingPerConnectionMs: number
  /** CPU of one libp2p ping on an open connection, each end, ms (taken off the connections, which a ping dialed) */
  pingMs: number[]
  /** Wall time of one dial with its first ping, one at a time, ms */
  connectionWallMs: number
  /** Wall time of one connection to the point, and of one DISCOVER of an empty namespace on it, ms */
  pointWallMs: { connection: number, request: number }
  /** Wall time of the calibration, ms */
  wallMs: number
}

function pidOf (proc: HostProcess): number {
  if (proc.pid == null) {
    throw new Error(`${proc.spec.name} has no pid`)
  }

  return proc.pid
}

function cpuOf (proc: HostProcess): number {
  return procSample(pidOf(proc))?.cpuMs ?? 0
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * Spawns node-group processes without their configuration, waits until each has loaded its modules, then sends
 * every one its configuration at the same moment; resolves with the groups once each has started its nodes, and
 * with the moment they were told to (Date.now())
 */
export async function startGroupsTogether (hosts: Host[], configs: NodeGroupConfig[], readyMs: number): Promise<{ groups: NodeGroup[], sentAt: number, loadCpuMs: number[] }> {
  const procs = configs.map((config, i) => hosts[i].spawnNode(`node group ${config.name}`, NODE_GROUP, ['--max-lifetime', String(config.maxLifetimeMs ?? 600_000)]))
  await waitIdle(procs.map(pidOf))
  const loadCpuMs = procs.map(cpuOf)
  const sentAt = Date.now()

  for (const [i, proc] of procs.entries()) {
    proc.write(JSON.stringify(configs[i]))
  }

  const groups = await Promise.all(procs.map(async (proc, i) => {
    const ready = await proc.waitFor('ready line', e => e.event === 'ready', readyMs)
    return new NodeGroup(hosts[i], proc, configs[i], ready)
  }))
  return { groups, sentAt, loadCpuMs }
}

/** Resolves once node `a` of group A and node `b` of group B each count the other as a topic peer */
async function bothKnow (groupA: NodeGroup, a: number, groupB: NodeGroup, b: number, boundMs = 20_000): Promise<void> {
  const idA = groupA.nodes[a].peerId
  const idB = groupB.nodes[b].peerId
  const deadline = Date.now() + boundMs

  for (;;) {
    const [statusA, statusB] = await Promise.all([groupA.status(), groupB.status()])
    const knowsB = statusA[a].topics[TOPIC]?.peers.includes(idB) === true
    const knowsA = statusB[b].topics[TOPIC]?.peers.includes(idA) === true

    if (knowsA && knowsB) {
      return
    }

    if (Date.now() > deadline) {
      throw new Error(`calibration: nodes ${a} and ${b} did not see each other's topics within ${boundMs} ms`)
    }

    await sleep(20)
  }
}

/** CPU of each process per ms while idle */
async function idleRates (procs: HostProcess[], ms: number): Promise<number[]> {
  const before = procs.map(cpuOf)
  const start = performance.now()
  await sleep(ms)
  const elapsed = performance.now() - start
  return procs.map((proc, i) => (cpuOf(proc) - before[i]) / elapsed)
}

/**
 * Dials each pair (A's node a to B's node b) of `pairs`, all at once, and lets `CONNECTION_SETTLE_MS` pass (identify
 * and gossipsub's exchange, both ways): each process's CPU over it less its idle rate, per connection, and the wall
 * time of the dial (with one ping: the group's `ping` command is what dials). Then, once the CPU is read (asking
 * costs the groups CPU too), checks that every pair lists each other as subscribed
 */
async function connectPairs (groupA: NodeGroup, groupB: NodeGroup, pairs: Array<[number, number]>, idle: number[]): Promise<{ dialerMs: number, listenerMs: number, wallMs: number }> {
  const procs = [groupA.process, groupB.process]
  const before = procs.map(cpuOf)
  const start = performance.now()
  await Promise.all(pairs.map(async ([a, b]) => groupA.ping(a, groupB.nodes[b].multiaddrs[0])))
  const wallMs = performance.now() - start
  await sleep(CONNECTION_SETTLE_MS)
  const elapsed = performance.now() - start
  const used = procs.map((proc, i) => (cpuOf(proc) - before[i] - idle[i] * elapsed) / pairs.length)

  for (const [a, b] of pairs) {
    await bothKnow(groupA, a, groupB, b, 5000)
  }

  return { dialerMs: used[0], listenerMs: used[1], wallMs }
}

/** CPU of each of the two groups per libp2p ping on an open connection, less idle, ms */
async function pingCost (groupA: NodeGroup, groupB: NodeGroup, idle: number[]): Promise<{ cpuMs: number[], rtts: number[] }> {
  const procs = [groupA.process, groupB.process]
  const before = procs.map(cpuOf)
  const start = performance.now()
  const rtts = await groupA.ping(0, groupB.nodes[0].multiaddrs[0], PINGS)
  await sleep(QUIET_MS)
  const elapsed = performance.now() - start
  return { cpuMs: procs.map((proc, i) => (cpuOf(proc) - before[i] - idle[i] * elapsed) / PINGS), rtts }
}

interface Phase { cpuMs: number, wallMs: number, requests: number, records?: number, pointCpuMs: number }

async function phase (peers: HostProcess, point: HostProcess, cmd: string, fields: Record<string, unknown>): Promise<Phase> {
  const before = cpuOf(point)
  const answer = await peers.request(cmd, fields, 120_000)
  await sleep(QUIET_MS)
  return { ...answer, pointCpuMs: cpuOf(point) - before }
}

function mean (values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
}

/** Runs every calibration step in `layout` (see the header); bounded by the harness's own bounds on each wait */
export async function calibrate (layout: Layout, pointDelayMs: number): Promise<Calibration> {
  const began = performance.now()
  const coreProbes = [await probeCapacity()]
  const network = await HostNetwork.create(layout === 'loopback' ? ['A'] : ['P', 'G1', 'G2'])
  const identityDir = await mkdtemp(join(tmpdir(), 'rdv-calibrate-'))

  try {
    const pointHost = network.host(layout === 'loopback' ? 'A' : 'P')
    const groupHosts = layout === 'loopback' ? [pointHost, pointHost] : [network.host('G1'), network.host('G2')]
    const point = await startPoint(pointHost, { identityDir, delay: layout === 'hosts' && pointDelayMs > 0 ? { delayMs: pointDelayMs } : undefined })
    const configs: NodeGroupConfig[] = ['A', 'B'].map((name, i) => ({ name, nodes: PER_GROUP, listen: `/ip4/${groupHosts[i].address}/tcp/0`, topics: [TOPIC], maxLifetimeMs: 300_000 }))

    // 2. node start
    const { groups, loadCpuMs } = await startGroupsTogether(groupHosts, configs, 60_000)
    const [groupA, groupB] = groups
    const procs = [groupA.process, groupB.process]
    // the CPU from the configuration to the ready line: read once both are ready and quiet
    await sleep(QUIET_MS)
    const startCpu = procs.map((proc, i) => cpuOf(proc) - loadCpuMs[i])

    // 3. idle, no connections
    const idleBare = await idleRates(procs, IDLE_MS)

    // 4. connections, one at a time, then CONCURRENT at once
    const alone: Array<{ dialerMs: number, listenerMs: number, wallMs: number }> = []

    for (let i = 0; i < SEQUENTIAL; i++) {
      alone.push(await connectPairs(groupA, groupB, [[i, i]], idleBare))
    }

    // A's node i to B's node i, then to B's nodes i + 1, i + 2, i + 3: every node ends with `LINKS` connections
    const together: Array<{ dialerMs: number, listenerMs: number, wallMs: number }> = [
      await connectPairs(groupA, groupB, Array.from({ length: CONCURRENT }, (_, i) => [SEQUENTIAL + i, SEQUENTIAL + i]), idleBare)
    ]

    for (let shift = 1; shift < LINKS; shift++) {
      for (let from = 0; from < PER_GROUP; from += CONCURRENT) {
        const batch = Array.from({ length: Math.min(CONCURRENT, PER_GROUP - from) }, (_, i): [number, number] => [from + i, (from + i + shift) % PER_GROUP])
        together.push(await connectPairs(groupA, groupB, batch, idleBare))
      }
    }

    // 3 again: every node holds `LINKS` connections now; the first seconds after connecting (gossipsub grafts its
    // mesh at its next heartbeats) apart from the steady state after them
    const idleSettling = await idleRates(procs, SETTLE_MS)
    const idleConnected = await idleRates(procs, IDLE_MS)

    // 5. round trips, and what a ping costs (each connection above was dialed by one)
    const pings = await pingCost(groupA, groupB, idleConnected)
    const nodeRtts = pings.rtts
    const withoutPing = (list: Array<{ dialerMs: number, listenerMs: number }>, end: 'dialerMs' | 'listenerMs'): number =>
      Math.max(0, (median(list.map(c => c[end])) ?? 0) - pings.cpuMs[end === 'dialerMs' ? 0 : 1])

    await Promise.all(groups.map(async group => group.stop()))

    // 6. requests: half the client nodes one request at a time, the other half `BATCH` at a time
    const peers = groupHosts[0].spawnNode('request peers', REQUEST_PEERS, [])
    await peers.request('create', { count: 2 * REGISTRANTS, listen: `/ip4/${groupHosts[0].address}/tcp/0` }, 60_000)
    const first = { point: point.multiaddr, from: 0, to: REGISTRANTS, batch: 1 }
    const second = { point: point.multiaddr, from: REGISTRANTS, to: 2 * REGISTRANTS, batch: BATCH }
    const connect = { alone: await phase(peers, point.process, 'connect', first), together: await phase(peers, point.process, 'connect', second) }
    const register = { alone: await phase(peers, point.process, 'register', { ...first, ns: FULL }), together: await phase(peers, point.process, 'register', { ...second, ns: FULL }) }
    const empty = {
      alone: await phase(peers, point.process, 'discover', { ...first, to: 1, ns: 'calibration/empty', limit: 100, times: DISCOVERS }),
      together: await phase(peers, point.process, 'discover', { ...second, ns: 'calibration/empty', limit: 100, times: 1 })
    }
    const full = {
      alone: await phase(peers, point.process, 'discover', { ...first, to: 1, ns: FULL, limit: 100, times: DISCOVERS }),
      together: await phase(peers, point.process, 'discover', { ...second, ns: FULL, limit: 100, times: 1 })
    }
    await peers.stop()

    const perRequest = (p: Phase): number => p.cpuMs / p.requests
    const pointPerRequest = (p: Phase): number => p.pointCpuMs / p.requests
    const requestLatency = (p: Phase): number => Math.max(0, (p.wallMs - p.cpuMs - p.pointCpuMs) / p.requests)
    const requestCosts = (kind: 'alone' | 'together'): RequestCosts => {
      const records = (full[kind].records ?? 0) / full[kind].requests
      return {
        pointConnection: {
          dialerMs: Math.max(0, perRequest(connect[kind]) - perRequest(empty[kind])),
          pointMs: Math.max(0, pointPerRequest(connect[kind]) - pointPerRequest(empty[kind]))
        },
        register: { clientMs: perRequest(register[kind]), pointMs: pointPerRequest(register[kind]) },
        discover: {
          clientMs: perRequest(empty[kind]),
          clientPerRecordMs: records > 0 ? Math.max(0, perRequest(full[kind]) - perRequest(empty[kind])) / records : 0,
          pointMs: pointPerRequest(empty[kind]),
          pointPerRecordMs: records > 0 ? Math.max(0, pointPerRequest(full[kind]) - pointPerRequest(empty[kind])) / records : 0
        }
      }
    }
    const idlePerNode = mean(idleBare) / PER_GROUP
    const idlePerConnection = (mean(idleConnected) - mean(idleBare)) / (PER_GROUP * LINKS)
    const costs: ProcessCosts = {
      nodeStartMs: mean(startCpu) / PER_GROUP,
      connection: { dialerMs: withoutPing(together, 'dialerMs'), listenerMs: withoutPing(together, 'listenerMs') },
      ...requestCosts('together'),
      // per second of each: rates are per ms
      idle: { periodMs: 1000, perNodeMs: idlePerNode * 1000, perConnectionMs: Math.max(0, idlePerConnection) * 1000 },
      latency: {
        nodeRttMs: mean(nodeRtts),
        // what a connection to the point and a request on it take besides the CPU of the two ends: the round trips
        pointConnectMs: Math.max(0, (connect.alone.wallMs - connect.alone.cpuMs - connect.alone.pointCpuMs) / connect.alone.requests - requestLatency(empty.alone)),
        pointRequestMs: requestLatency(empty.alone)
      }
    }

    return {
      layout,
      pointDelayMs,
      cores: median(coreProbes) ?? 2,
      coreProbes,
      costs,
      connectionAlone: { dialerMs: withoutPing(alone, 'dialerMs'), listenerMs: withoutPing(alone, 'listenerMs') },
      pingMs: pings.cpuMs,
      requestsAlone: requestCosts('alone'),
      idleSettlingPerConnectionMs: Math.max(0, (mean(idleSettling) - mean(idleBare)) / (PER_GROUP * LINKS)) * 1000,
      connectionWallMs: median(alone.map(a => a.wallMs)) ?? 0,
      pointWallMs: { connection: connect.alone.wallMs / connect.alone.requests - empty.alone.wallMs / empty.alone.requests, request: empty.alone.wallMs / empty.alone.requests },
      wallMs: performance.now() - began
    }
  } finally {
    await network.teardown()
    await rm(identityDir, { recursive: true, force: true })
  }
}
