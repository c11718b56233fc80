/**
 * From simulated request rates to a fleet: how many rendezvous servers N nodes need, and what the PostgreSQL
 * database under them must write, using the server CPU per request that benchmarks/server measured
 * (benchmarks/results/server.json), with one request per stream (the spec's way, and other implementations') and
 * with requests on streams kept open (this package's client).
 *
 * The model: every node knows `addressesPerNode` servers of one fleet (two, for redundancy) and sends each of them
 * its REGISTERs and DISCOVERs; the fleet shares one database, so a REGISTER at either server is one write. A server
 * is sized to run at `TARGET_UTILISATION` of `CORES_PER_SERVER` cores.
 */
import { readFile } from 'node:fs/promises'
import type { ScenarioResult } from './simulation.ts'

/** Cores of one server */
export const CORES_PER_SERVER = 2
/** The share of its cores a server runs at, leaving room for bursts (a flash crowd, a restart of a neighbour) */
export const TARGET_UTILISATION = 0.5
/** Servers of the fleet each node knows */
export const ADDRESSES_PER_NODE = 2

export type StreamMode = 'stream-per-request' | 'open-streams'

/** Server CPU per OK reply, µs, by request type */
export interface CpuPerRequest {
  register: number
  discover: number
  /** The benchmarks do not load UNREGISTER alone: taken as a REGISTER without the record check */
  unregister: number
}

export type StoreKind = 'memory' | 'postgres'

export interface ServerCpu {
  /** Where the figures come from */
  source: string
  measuredAt?: string
  /** Per store and stream mode, those the benchmark measured */
  rows: Array<{ store: StoreKind, mode: StreamMode, cpu: CpuPerRequest }>
  /** The DISCOVER the figure was measured with returned this many registrations on average */
  discoverPage?: number
}

interface ThroughputRow {
  kind?: string
  mode?: string
  store?: string
  server?: string
  variant?: string
  /** `today` (the baseline commit) or `now`, in runs that measure both */
  code?: string
  servers?: number
  serverCpuMicrosPerOk?: number
  meanRegistrations?: number
}

/** A row of the current code on one server with its default options (not the baseline, a fleet or the record cache off) */
function isCurrentCode (row: ThroughputRow): boolean {
  return row.code === 'now' && (row.servers ?? 1) === 1 && row.variant?.includes('record cache off') !== true
}

/**
 * Reads the rows of benchmarks/results/server.json for this package's server on the memory and the PostgreSQL
 * store (the first row of each request type, store and stream mode; a row without a mode is from before open
 * streams were measured, so one request per stream)
 */
export async function readServerCpu (path: URL): Promise<ServerCpu | undefined> {
  let json: any

  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return undefined
  }

  const rows: ThroughputRow[] = Array.isArray(json?.throughput) ? json.throughput : []
  const found: ServerCpu['rows'] = []
  let discoverPage: number | undefined

  for (const store of ['memory', 'postgres'] as StoreKind[]) {
    for (const mode of ['stream-per-request', 'open-streams'] as StreamMode[]) {
      const pick = (kind: string): ThroughputRow | undefined => rows.find(r =>
        r.kind === kind && (r.mode ?? 'stream-per-request') === mode && (r.store ?? r.server ?? 'memory') === store &&
        (r.variant == null || r.variant === 'ours' || r.variant === 'default' || isCurrentCode(r)) && typeof r.serverCpuMicrosPerOk === 'number')
      const register = pick('register')
      const discover = pick('discover')

      if (register?.serverCpuMicrosPerOk != null && discover?.serverCpuMicrosPerOk != null) {
        const signature = json?.signature?.openMicros ?? 0
        found.push({
          store,
          mode,
          cpu: {
            register: register.serverCpuMicrosPerOk,
            discover: discover.serverCpuMicrosPerOk,
            unregister: Math.max(0, register.serverCpuMicrosPerOk - signature)
          }
        })
        discoverPage ??= discover.meanRegistrations ?? json?.meta?.discoverLimit
      }
    }
  }

  return { source: 'benchmarks/results/server.json', measuredAt: json?.meta?.startedAt, rows: found, discoverPage }
}

export interface FleetSize {
  scenario: string
  nodes: number
  mode: StreamMode
  /** Requests per second the whole fleet serves, by type */
  fleetPerSecond: { register: number, discover: number, unregister: number }
  /** Server cores the fleet's requests take */
  cores: number
  /** Servers needed at the target utilisation (at least two, for redundancy) */
  servers: number
  /** Rows the database writes per second: REGISTERs (each node's, at each server it knows) and UNREGISTERs */
  writesPerSecond: number
  /** Rows the sweep deletes per second at steady state: the registrations that run out */
  expiriesPerSecond: number
}

/**
 * The fleet for a simulated network. The simulation's nodes used every one of its points: its per-point rates are
 * each node's requests to one server, so a fleet where each node knows `ADDRESSES_PER_NODE` servers serves
 * `ADDRESSES_PER_NODE` times them.
 */
export function fleetFor (result: ScenarioResult, cpu: CpuPerRequest, mode: StreamMode): FleetSize | undefined {
  const rates = result.perPointPerSecond

  if (rates == null) {
    return undefined
  }

  const fleetPerSecond = {
    register: rates.register * ADDRESSES_PER_NODE,
    discover: rates.discover * ADDRESSES_PER_NODE,
    unregister: rates.unregister * ADDRESSES_PER_NODE
  }
  const cores = (fleetPerSecond.register * cpu.register + fleetPerSecond.discover * cpu.discover + fleetPerSecond.unregister * cpu.unregister) / 1e6
  const servers = Math.max(2, Math.ceil(cores / (CORES_PER_SERVER * TARGET_UTILISATION)))

  return {
    scenario: result.scenario,
    nodes: Math.round(result.population.averageOnline),
    mode,
    fleetPerSecond,
    cores,
    servers,
    writesPerSecond: fleetPerSecond.register + fleetPerSecond.unregister,
    expiriesPerSecond: result.abandonedPerPointPerSecond ?? 0
  }
}
