/**
 * Where a process spent its CPU, from the `.cpuprofile` V8 writes with `node --cpu-prof`: self time per function
 * and per part of the code (our `src/`, each package in node_modules, Node's internals, garbage collection), as
 * shares of all samples.
 */
import { readFile } from 'node:fs/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
}

export interface ProfileShare {
  name: string
  /** Share of all samples, 0-1 */
  share: number
}

export interface ProfileSummary {
  samples: number
  /** By part of the code: `ours (src/)`, `@libp2p/yamux`, `node internals`, `(garbage collector)`, … */
  parts: ProfileShare[]
  /** By function, the top ones */
  functions: ProfileShare[]
}

/** The part of the code a script URL belongs to */
function partOf (url: string, functionName: string): string {
  if (url === '') {
    // (program), (idle), (garbage collector), and native code
    return functionName.startsWith('(') ? functionName : '(native)'
  }

  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (inModules != null) {
    return inModules[1]
  }

  if (url.startsWith('node:')) {
    return 'node internals'
  }

  if (/\/src\//.test(url)) {
    return 'ours (src/)'
  }

  if (/\/benchmarks\//.test(url)) {
    return 'the benchmark harness'
  }

  return url
}

function top (counts: Map<string, number>, total: number, n: number): ProfileShare[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, count]) => ({ name, share: count / total }))
}

export async function summarizeProfile (file: string, topFunctions = 15): Promise<ProfileSummary> {
  const profile: Profile = JSON.parse(await readFile(file, 'utf8'))
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parts = new Map<string, number>()
  const functions = new Map<string, number>()
  let total = 0

  for (const id of profile.samples) {
    const node = byId.get(id)
    if (node == null || node.callFrame.functionName === '(idle)') {
      continue
    }

    total++
    const { functionName, url, lineNumber } = node.callFrame
    const part = partOf(url, functionName)
    parts.set(part, (parts.get(part) ?? 0) + 1)
    const file = url.split('/').slice(-1)[0]
    const name = `${functionName === '' ? '(anonymous)' : functionName} ${part}${file === '' ? '' : ` ${file}:${lineNumber + 1}`}`
    functions.set(name, (functions.get(name) ?? 0) + 1)
  }

  return { samples: total, parts: top(parts, Math.max(1, total), 12), functions: top(functions, Math.max(1, total), topFunctions) }
}
