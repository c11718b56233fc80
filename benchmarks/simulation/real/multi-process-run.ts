/**
 * One round of the real network the simulator is validated against: a `rendezvous-server` process (memory store)
 * and N nodes spread over P node-group processes (test/fixtures/hosts/node-group.ts: TCP, noise, yamux, identify,
 * ping, gossipsub and `rendezvousDiscovery` with every option at its default but `relay: 'never'`), each node
 * subscribed to one topic with the quota of 6, all started together. Measured: each node's time to quota (from its
 * start, as the group reports it), the point's REGISTER and DISCOVER counts (its /metrics) once the last node got
 * there, and the CPU time of every process (from /proc) over the run.
 *
 * "Started together": the group processes are spawned without their configuration and load their modules first
 * (seconds of CPU each); once every one of them sits idle on its stdin, each is sent its configuration at the same
 * moment, and creates and starts its nodes. So the round measures discovery, not module loading.
 *
 * Two layouts, both on the hosts harness (network namespaces; root):
 * - `loopback`: every process in one host: connections over the host's own address, as on one machine's loopback;
 * - `hosts`: the point on a host of its own behind the harness's delaying proxy (`pointDelayMs` each way), each
 * group on a host of its own, all on one bridge (no added delay between nodes: the kernel here has no netem).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostNetwork, NodeGroup, startPoint } from '../../../test/fixtures/hosts/index.ts'
import { machineCpu, procSample, waitIdle } from './proc-stat.ts'
import type { Host, HostEvent, HostProcess, NodeGroupConfig, RunningPoint } from '../../../test/fixtures/hosts/index.ts'

const NODE_GROUP = fileURLToPath(new URL('../../../test/fixtures/hosts/node-group.ts', import.meta.url))

export type Layout = 'loopback' | 'hosts'

export interface RealPlan {
  nodes: number
  /** Node-group processes the nodes are spread over (as evenly as they divide) */
  processes: number
  layout: Layout
  /** One-way delay of the proxy in front of the point, ms (`hosts` layout only; 0: no proxy) */
  pointDelayMs: number
  topic: string
  quota: number
  /** Bound on the wait for every node's quota, ms */
  boundMs: number
  /** How often the processes' CPU is sampled, ms */
  sampleMs: number
  /** Run every process with `--cpu-prof`, writing its profile here as it ends (a diagnosis: profiling slows them) */
  profileDir?: string
}

export interface ProcessFigures {
  name: string
  pid: number
  kind: 'point' | 'group' | 'proxy'
  /** Nodes it runs (groups) */
  nodes: number
  /** CPU time spent loading, up to the common start, ms */
  loadCpuMs: number
  /** CPU time from the common start until the last node reached its quota, ms */
  cpuMs: number
  /** A group's own account of creating and starting its nodes (its `ready` line), ms */
  startMs?: number
}

export interface RealRound {
  plan: RealPlan
  /** Each node's time to quota, ms from its start (the group's `quota` line), in no particular order */
  timings: number[]
  /** Nodes that had not reached the quota when the bound ran out */
  never: number
  /** ms from the common start until the last node reached its quota (or the bound) */
  untilAllMs: number
  /** The point's counters of answered REGISTERs and DISCOVERs, read right after the last node reached its quota */
  requests: { register: number, discover: number }
  /** How long after the last node's quota the point's counters were read, ms */
  requestsReadAfterMs: number
  /** From the common start to the last node's quota, µs on the machine's monotonic clock (to cut profiles to it) */
  windowUs: [number, number]
  processes: ProcessFigures[]
  /** CPU time of the whole machine (every process, ours or not) over the same span, ms, and the span's wall time */
  machine: { busyMs: number, wallMs: number }
  /** CPU time of each process (in `processes` order) at each sample, ms since the common start */
  samples: Array<{ atMs: number, cpuMs: number[] }>
  /**
   * What the nodes' own status said once every node was at quota (the groups' `status`): DISCOVERs each node's
   * module had sent, its connections, and the last errors its registrations and queries had seen, counted
   */
  nodes: { discovers: number[], connections: number[], errors: Record<string, number> }
}

/** Counter of REGISTER or DISCOVER answers in the point's Prometheus text, summed over their statuses */
export function requestCount (metrics: string, kind: 'register' | 'discover'): number {
  return metrics.split('\n')
    .filter(line => line.startsWith('libp2p_rendezvous_server_requests_total{') && line.includes(`request="${kind}_`))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
}

/** How many nodes process `i` of `processes` runs: as even as they divide, the larger shares first */
export function share (nodes: number, processes: number, i: number): number {
  return Math.floor(nodes / processes) + (i < nodes % processes ? 1 : 0)
}

function pidOf (proc: HostProcess): number {
  const pid = proc.pid

  if (pid == null) {
    throw new Error(`${proc.spec.name} has no pid`)
  }

  return pid
}

function cpuOf (proc: HostProcess): number {
  return procSample(pidOf(proc))?.cpuMs ?? 0
}

/** Puts NODE_OPTIONS back as it was (an absent one must be deleted: assigning undefined would set "undefined") */
function restoreNodeOptions (value: string | undefined): void {
  if (value == null) {
    delete process.env.NODE_OPTIONS
  } else {
    process.env.NODE_OPTIONS = value
  }
}

export async function realRound (plan: RealPlan): Promise<RealRound> {
  const groupHosts = Array.from({ length: plan.processes }, (_, i) => `G${i + 1}`)
  const network = await HostNetwork.create(plan.layout === 'loopback' ? ['A'] : ['P', ...groupHosts])
  const identityDir = await mkdtemp(join(tmpdir(), 'rdv-validate-'))
  const pointHost = network.host(plan.layout === 'loopback' ? 'A' : 'P')
  const hostOf = (i: number): Host => plan.layout === 'loopback' ? pointHost : network.host(groupHosts[i])

  // a profiling run: every process started below inherits the flags (they are allowed in NODE_OPTIONS)
  const nodeOptions = process.env.NODE_OPTIONS

  if (plan.profileDir != null) {
    process.env.NODE_OPTIONS = `${nodeOptions ?? ''} --cpu-prof --cpu-prof-dir=${plan.profileDir}`.trim()
  }

  try {
    const point: RunningPoint = await startPoint(pointHost, {
      identityDir,
      delay: plan.layout === 'hosts' && plan.pointDelayMs > 0 ? { delayMs: plan.pointDelayMs } : undefined
    })
    const configs: NodeGroupConfig[] = groupHosts.map((name, i) => ({
      name,
      nodes: share(plan.nodes, plan.processes, i),
      listen: `/ip4/${hostOf(i).address}/tcp/0`,
      points: [point.multiaddr],
      topics: [plan.topic],
      quota: plan.quota,
      maxLifetimeMs: plan.boundMs + 120_000
    }))
    // spawned without a configuration: each loads its modules, then waits for its first line
    const procs = configs.map((config, i) => hostOf(i).spawnNode(`node group ${config.name}`, NODE_GROUP, ['--max-lifetime', String(config.maxLifetimeMs)]))

    restoreNodeOptions(nodeOptions)

    await waitIdle(procs.map(pidOf))

    const measured: Array<{ proc: HostProcess, figures: ProcessFigures }> = [
      { proc: point.process, figures: { name: 'point', pid: pidOf(point.process), kind: 'point', nodes: 0, loadCpuMs: 0, cpuMs: 0 } },
      ...(point.proxy == null ? [] : [{ proc: point.proxy.process, figures: { name: 'proxy', pid: pidOf(point.proxy.process), kind: 'proxy' as const, nodes: 0, loadCpuMs: 0, cpuMs: 0 } }]),
      ...procs.map((proc, i) => ({ proc, figures: { name: configs[i].name, pid: pidOf(proc), kind: 'group' as const, nodes: configs[i].nodes, loadCpuMs: 0, cpuMs: 0 } }))
    ]

    for (const m of measured) {
      m.figures.loadCpuMs = cpuOf(m.proc)
    }

    const machineStart = machineCpu()
    const start = Date.now()
    const startUs = Number(process.hrtime.bigint() / 1000n)

    for (let i = 0; i < procs.length; i++) {
      procs[i].write(JSON.stringify(configs[i]))
    }

    const samples: RealRound['samples'] = []
    const sampler = setInterval(() => {
      samples.push({ atMs: Date.now() - start, cpuMs: measured.map(m => cpuOf(m.proc) - m.figures.loadCpuMs) })
    }, plan.sampleMs)

    let quotaEvents: HostEvent[][] = []
    let groupsSeen: NodeGroup[] = []
    let endUs = startUs
    let lastAt = start

    try {
      const groups = await Promise.all(procs.map(async (proc, i) => {
        const ready = await proc.waitFor('ready line', e => e.event === 'ready', plan.boundMs)
        return new NodeGroup(hostOf(i), proc, { ...configs[i] }, ready)
      }))
      groupsSeen = groups
      const deadline = start + plan.boundMs
      quotaEvents = await Promise.all(groups.map(async group => group.waitForQuota(plan.topic, Math.max(1, deadline - Date.now())).catch(() => group.quotaEvents().filter(e => e.again !== true))))
      lastAt = Math.max(start, ...quotaEvents.flat().map(e => Number(e.receivedAt)))
      endUs = Number(process.hrtime.bigint() / 1000n) - (Date.now() - lastAt) * 1000

      for (const [i, group] of groups.entries()) {
        measured[i + measured.length - groups.length].figures.startMs = group.ready.startMs
      }
    } finally {
      clearInterval(sampler)
    }

    const now = Date.now()
    const machineEnd = machineCpu()

    for (const m of measured) {
      m.figures.cpuMs = cpuOf(m.proc) - m.figures.loadCpuMs
    }

    const metrics = await point.metrics()
    const statuses = (await Promise.all(groupsSeen.map(async group => group.status().catch(() => [])))).flat()
    const errors: Record<string, number> = {}

    for (const status of statuses) {
      for (const error of status.rendezvous?.errors ?? []) {
        // one line per kind of error: peer ids and addresses vary
        const kind = String(error).replace(/12D3\w+|\/ip4\/\S+/g, '…').slice(0, 160)
        errors[kind] = (errors[kind] ?? 0) + 1
      }
    }

    const firstQuota = quotaEvents.map(events => {
      const seen = new Map<number, number>()

      for (const e of events) {
        if (e.again !== true && !seen.has(e.index)) {
          seen.set(e.index, Number(e.ms))
        }
      }

      return [...seen.values()]
    }).flat()

    return {
      plan,
      timings: firstQuota,
      never: plan.nodes - firstQuota.length,
      untilAllMs: lastAt - start,
      requests: { register: requestCount(metrics, 'register'), discover: requestCount(metrics, 'discover') },
      requestsReadAfterMs: Date.now() - lastAt,
      windowUs: [startUs, endUs],
      processes: measured.map(m => m.figures),
      machine: { busyMs: machineEnd.busyMs - machineStart.busyMs, wallMs: now - start },
      samples,
      nodes: {
        discovers: statuses.map(s => s.rendezvous?.discovers ?? 0),
        connections: statuses.map(s => s.connections),
        errors
      }
    }
  } finally {
    restoreNodeOptions(nodeOptions)
    await network.teardown()
    await rm(identityDir, { recursive: true, force: true })
  }
}
