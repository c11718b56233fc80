/**
 * Where a real process of the validation spent its CPU, by the parts the simulator's process model has figures for:
 * read from the `.cpuprofile` V8 writes with `--cpu-prof` (validate-real.ts `--profile`). Each sample counts once:
 * for the innermost frame of this package's `src/` on its stack if there is one (what our discovery module, client
 * or server ran, and everything they called: the record checks of a DISCOVER are the client's), otherwise for the
 * innermost frame of a known package (the connection's layers: noise, yamux, multistream, identify, gossipsub, ping,
 * TCP; libp2p's core), otherwise garbage collection or Node itself.
 */
import { readFile } from 'node:fs/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  /** When profiling began, µs on the machine's monotonic clock (as `process.hrtime` reads it) */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** This package's parts */
const OURS: Array<[string, RegExp]> = [
  ['discovery module (src/discovery)', /\/src\/discovery\//],
  ['rendezvous client (src/client, src/protocol)', /\/src\/(client|protocol)\//],
  ['rendezvous server (src/server, src/cli)', /\/src\/(server|cli)\//]
]

/** Other parts */
const PARTS: Array<[string, RegExp]> = [
  ['noise', /node_modules\/@(libp2p|chainsafe)\/(libp2p-)?noise\//],
  ['yamux', /node_modules\/@(libp2p|chainsafe)\/(libp2p-)?yamux\//],
  ['gossipsub', /node_modules\/@(libp2p|chainsafe)\/(libp2p-)?gossipsub\//],
  ['identify', /node_modules\/@libp2p\/identify\//],
  ['ping', /node_modules\/@libp2p\/ping\//],
  ['multistream-select', /node_modules\/@libp2p\/multistream-select\//],
  ['tcp', /node_modules\/@libp2p\/tcp\//],
  ['the node group (test/fixtures/hosts)', /\/test\/fixtures\/hosts\//],
  ['libp2p core', /node_modules\/libp2p\//],
  ['peer store, records, crypto (@libp2p/*)', /node_modules\/@libp2p\//]
]

export interface ProfileParts {
  /** CPU time the profile covers (its samples' time, idle left out), ms */
  totalMs: number
  /** Time per part, ms, largest first */
  parts: Array<{ part: string, ms: number }>
}

/**
 * The time of each sample attributed to one part, see the header; only the samples within `windowUs` (µs on the
 * machine's monotonic clock, `process.hrtime.bigint() / 1000n` in any process) when given
 */
export async function profileParts (file: string, windowUs?: [number, number]): Promise<ProfileParts> {
  const profile: Profile = JSON.parse(await readFile(file, 'utf8'))
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parentOf = new Map<number, number>()

  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id)
    }
  }

  // per profile node: the innermost part of ours on its stack, the innermost other part, whether a package is on it
  const found = new Map<number, { ours?: string, other?: string, packages: boolean }>()
  const lookup = (id: number): { ours?: string, other?: string, packages: boolean } => {
    const known = found.get(id)

    if (known != null) {
      return known
    }

    const node = byId.get(id)
    const parent = parentOf.get(id)
    const above = parent == null ? { packages: false } : lookup(parent)
    const url = node?.callFrame.url ?? ''
    const result = {
      ours: OURS.find(([, pattern]) => pattern.test(url))?.[0] ?? above.ours,
      other: PARTS.find(([, pattern]) => pattern.test(url))?.[0] ?? above.other,
      packages: above.packages || url.includes('/node_modules/')
    }
    found.set(id, result)
    return result
  }
  const classify = (id: number): string => {
    const name = byId.get(id)?.callFrame.functionName

    if (name === '(garbage collector)' || name === '(program)') {
      return name
    }

    const { ours, other, packages } = lookup(id)
    return ours ?? other ?? (packages ? 'other packages' : 'Node itself (node:*, native)')
  }

  const times = new Map<string, number>()
  let total = 0

  let at = profile.startTime

  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    at += profile.timeDeltas[i] ?? 0

    if (node == null || node.callFrame.functionName === '(idle)' || (windowUs != null && (at < windowUs[0] || at > windowUs[1]))) {
      return
    }

    const part = classify(id)
    times.set(part, (times.get(part) ?? 0) + ms)
    total += ms
  })

  return { totalMs: total, parts: [...times.entries()].sort((a, b) => b[1] - a[1]).map(([part, ms]) => ({ part, ms })) }
}
