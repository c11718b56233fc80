/**
 * The tables `npm run simulate` prints, as markdown, the same ones docs/sizing.md quotes.
 */
import { formatTable } from '../lib/table.ts'
import { ADDRESSES_PER_NODE, CORES_PER_SERVER, TARGET_UTILISATION, fleetFor } from './sizing.ts'
import type { ScenarioResult } from './simulation.ts'
import type { ServerCpu } from './sizing.ts'

function ms (value: number | null | undefined): string {
  if (value == null) {
    return '-'
  }

  if (!Number.isFinite(value)) {
    return 'never'
  }

  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')
}

function num (value: number | null | undefined, digits = 0): string {
  if (value == null || !Number.isFinite(value)) {
    return '-'
  }

  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const KINDS = [['topic', 'topic (6 peers)'], ['relay', 'relay (2 relays, browsers)'], ['reachable', 'reachable (a reservation, browsers)']] as const

export function timeToQuotaTable (results: ScenarioResult[]): string {
  const rows: string[][] = []

  for (const r of results) {
    for (const [cohort, label] of [['start', 'first wave'], ['steady', 'joining later']] as const) {
      for (const [kind, kindLabel] of KINDS) {
        const t = r.timeToQuota[cohort][kind]

        if (t.reached + t.never > 0) {
          rows.push([r.scenario, label, kindLabel, num(t.reached), num(t.never), ms(t.p50), ms(t.p95), ms(t.p99)])
        }
      }
    }
  }

  return formatTable(['scenario', 'nodes', 'namespace kind', 'reached', 'never', 'p50 ms', 'p95 ms', 'p99 ms'], rows)
}

export function loadTable (results: ScenarioResult[]): string {
  return formatTable(
    ['scenario', 'nodes online', 'REGISTER/s', 'DISCOVER/s', 'UNREGISTER/s', 'records sent/s', 'KiB sent/s', 'registrations held', 'store MiB', 'DISCOVER per node per hour', 'REGISTER per node per hour'],
    results.filter(r => r.perPointPerSecond != null).map(r => {
      const p = r.perPointPerSecond
      return [
        r.scenario,
        num(r.population.averageOnline),
        num(p?.register, 1),
        num(p?.discover, 1),
        num(p?.unregister, 1),
        num(p?.returned),
        num((p?.returnedBytes ?? 0) / 1024),
        num(r.store.registrations),
        num(r.store.bytes / 2 ** 20, 1),
        num(r.perNodePerHour?.discover),
        num(r.perNodePerHour?.register, 1)
      ]
    }))
}

export function comparisonTable (results: ScenarioResult[]): string {
  return formatTable(
    ['scenario', 'nodes online', 'rendezvous: requests per node per hour', 'rendezvous: KiB per node per hour', 'pubsub-peer-discovery (10 s): messages received per node per hour', 'KiB per node per hour', 'announcements crossing links per second, whole network'],
    results.filter(r => r.perNodePerHour != null).map(r => {
      const perNode = r.perNodePerHour ?? { register: 0, discover: 0, unregister: 0 }
      const nodes = Math.max(1, r.population.averageOnline)
      // the records every point sent, over the nodes online
      const kib = (r.perPointPerSecond?.returnedBytes ?? 0) * r.points * 3600 / nodes / 1024
      const pubsub = r.pubsubPeerDiscovery
      return [
        r.scenario,
        num(nodes),
        num(perNode.register + perNode.discover + perNode.unregister),
        num(kib),
        num(pubsub.receivedPerNodePerSecond * 3600),
        num(pubsub.bytesPerNodePerHour / 1024),
        num(pubsub.transmissionsPerSecond)
      ]
    }))
}

export function runTable (results: ScenarioResult[]): string {
  return formatTable(['scenario', 'simulated', 'nodes joined', 'of them real', 'wall s', 'CPU s', 'peak RSS MiB', 'timers fired', 'cut short'], results.map(r => [
    r.scenario,
    `${num(r.simulatedMs / 60_000)} min`,
    num(r.population.joined),
    num(r.population.real),
    num(r.engine.wallMs / 1000),
    num(r.engine.cpuMs / 1000),
    num(r.engine.peakRssMiB),
    num(r.engine.timersFired),
    r.cutShort ? 'yes' : 'no'
  ]))
}

export function sizingTable (results: ScenarioResult[], cpu: ServerCpu | undefined): string {
  if (cpu == null) {
    return 'no server CPU figures (benchmarks/results/server.json): run `npm run bench` first'
  }

  const rows: string[][] = []

  for (const r of results) {
    for (const { store, mode, cpu: perRequest } of cpu.rows) {
      const fleet = fleetFor(r, perRequest, mode)

      if (fleet == null) {
        continue
      }

      rows.push([
        r.scenario,
        num(fleet.nodes),
        `${store} store, ${mode === 'open-streams' ? 'requests on open streams' : 'one request per stream'}`,
        `${num(perRequest.register)} / ${num(perRequest.discover)}`,
        num(fleet.fleetPerSecond.register + fleet.fleetPerSecond.discover + fleet.fleetPerSecond.unregister),
        num(fleet.cores, 2),
        num(fleet.servers),
        num(fleet.writesPerSecond, 1),
        num(fleet.expiriesPerSecond, 1)
      ])
    }
  }

  return [
    formatTable(['scenario', 'nodes', 'server', 'server µs per REGISTER / DISCOVER', 'fleet requests/s', 'server cores', `servers (${CORES_PER_SERVER} cores at ${TARGET_UTILISATION * 100}%)`, 'PostgreSQL writes/s', 'rows expiring/s'], rows),
    '',
    `Each node knows ${ADDRESSES_PER_NODE} servers of the fleet. ${cpu.rows.some(r => r.mode === 'open-streams') ? '' : 'Requests on open streams: not in the server figures yet (benchmarks/server). '}Server CPU per request: ${cpu.source}${cpu.measuredAt == null ? '' : ` (run of ${cpu.measuredAt})`}${cpu.discoverPage == null ? '' : `, DISCOVERs returning ${num(cpu.discoverPage)} registrations`}.`
  ].join('\n')
}
