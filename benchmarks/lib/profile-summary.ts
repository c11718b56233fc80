/**
 * Where the CPU time of a profile went: self time by package (or by unit of this package's `src/`), inclusive
 * time by package (a package anywhere on the stack), and the functions with the most self time.
 *
 * npx node benchmarks/lib/profile-summary.ts <file.cpuprofile> [rows]
 */
import { readFileSync } from 'node:fs'
import { print } from './print.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)'])

/** A frame's package: `@scope/name` in node_modules, `src/<unit>` of this package, `node:<area>`, or native */
function owner (url: string): string {
  if (url === '') {
    return '(native)'
  }

  const dependency = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)

  if (dependency != null) {
    return dependency[1]
  }

  const own = url.match(/\/(src\/[^/]+(?:\/[^/.]+(?=\/))?)/)

  if (own != null) {
    return own[1]
  }

  if (url.includes('/benchmarks/')) {
    return 'benchmarks'
  }

  return url.startsWith('node:') ? url.split('/').slice(0, 2).join('/') : url
}

const [file, rowsArg] = process.argv.slice(2)
const rows = Number(rowsArg ?? 20)
const profile: Profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map(node => [node.id, node]))
const parent = new Map<number, number>()

for (const node of profile.nodes) {
  for (const child of node.children ?? []) {
    parent.set(child, node.id)
  }
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const functions = new Map<string, number>()
let total = 0
let idle = 0

profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  const node = byId.get(id)

  if (node == null) {
    return
  }

  const { functionName, url, lineNumber } = node.callFrame
  total += dt

  if (functionName === '(idle)') {
    idle += dt
  }

  const key = SPECIAL.has(functionName) ? functionName : owner(url)
  self.set(key, (self.get(key) ?? 0) + dt)
  const fn = `${functionName === '' ? '(anonymous)' : functionName} ${owner(url)}:${lineNumber + 1}`
  functions.set(fn, (functions.get(fn) ?? 0) + dt)

  const seen = new Set<string>()
  let at: number | undefined = id

  while (at != null) {
    const frame = byId.get(at)

    if (frame != null && frame.callFrame.url !== '') {
      seen.add(owner(frame.callFrame.url))
    }

    at = parent.get(at)
  }

  for (const key of seen) {
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt)
  }
})

const busy = total - idle
const line = (t: number, label: string): string => `${(t / 1000).toFixed(0).padStart(7)} ms ${(100 * t / busy).toFixed(1).padStart(5)}%  ${label}`
const top = (map: Map<string, number>): Array<[string, number]> => [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, rows)

print(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages of busy time)`)
print('\nself time by package')
top(self).forEach(([k, t]) => { print(line(t, k)) })
print('\ninclusive time by package (anywhere on the stack)')
top(inclusive).forEach(([k, t]) => { print(line(t, k)) })
print('\nfunctions with the most self time')
top(functions).forEach(([k, t]) => { print(line(t, k)) })
