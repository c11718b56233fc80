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
  children?: number[]
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
  /**
   * By part of the code, counting a sample for every part on its stack (self time and everything it called):
   * e.g. `ours (src/)` here is all the time spent below our functions, crypto and encoding included
   */
  inclusive: ProfileShare[]
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
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id)
    }
  }
  // the parts on each node's stack, computed once per node
  const stackParts = new Map<number, Set<string>>()
  const partsOnStack = (id: number): Set<string> => {
    let found = stackParts.get(id)
    if (found == null) {
      const node = byId.get(id)
      const parent = parentOf.get(id)
      found = new Set(parent == null ? [] : partsOnStack(parent))
      if (node != null && node.callFrame.functionName !== '(root)') {
        found.add(partOf(node.callFrame.url, node.callFrame.functionName))
      }
      stackParts.set(id, found)
    }
    return found
  }
  const parts = new Map<string, number>()
  const functions = new Map<string, number>()
  const inclusive = new Map<string, number>()
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
    for (const onStack of partsOnStack(id)) {
      inclusive.set(onStack, (inclusive.get(onStack) ?? 0) + 1)
    }
  }

  return {
    samples: total,
    parts: top(parts, Math.max(1, total), 12),
    functions: top(functions, Math.max(1, total), topFunctions),
    inclusive: top(inclusive, Math.max(1, total), 12)
  }
}
