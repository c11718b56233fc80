/**
 * Compares two V8 heap snapshots (as the soak's --heap-snapshots writes them): the objects of each kind (a
 * constructor's name for objects, closures and native objects; the node type otherwise) counted and summed by
 * their own size in each, and the kinds that grew most between the two. What grew between the end of the warm-up
 * and the end of the load is where a leak would be.
 *
 * `node benchmarks/soak/compare-snapshots.ts first.heapsnapshot second.heapsnapshot [--top 25]`
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from '../lib/child.ts'
import { print } from '../lib/print.ts'
import { formatTable } from '../lib/table.ts'

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

interface Kind { count: number, bytes: number }

/** Kinds whose name says what they are; for the others (strings, arrays, code, hidden) the type is the kind */
const NAMED_TYPES = new Set(['object', 'closure', 'native'])

function kinds (path: string): Map<string, Kind> {
  const snapshot: HeapSnapshot = JSON.parse(readFileSync(path, 'utf8'))
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map(field => fields.indexOf(field))
  const byKind = new Map<string, Kind>()

  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]]
    const key = NAMED_TYPES.has(type) ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]]}` : `(${type})`
    const kind = byKind.get(key) ?? { count: 0, bytes: 0 }
    kind.count++
    kind.bytes += snapshot.nodes[i + sizeAt]
    byKind.set(key, kind)
  }

  return byKind
}

const args = parseArgs(process.argv.slice(2))
const [firstPath, secondPath] = process.argv.slice(2).filter(arg => arg.endsWith('.heapsnapshot'))
if (firstPath == null || secondPath == null) {
  throw new Error('usage: compare-snapshots.ts first.heapsnapshot second.heapsnapshot [--top 25]')
}
const top = Number(args.get('top') ?? 25)
const first = kinds(firstPath)
const second = kinds(secondPath)
const total = (byKind: Map<string, Kind>): number => [...byKind.values()].reduce((sum, kind) => sum + kind.bytes, 0)
const KiB = 1024

const rows = [...new Set([...first.keys(), ...second.keys()])].map(key => {
  const a = first.get(key) ?? { count: 0, bytes: 0 }
  const b = second.get(key) ?? { count: 0, bytes: 0 }
  return { key, a, b, grew: b.bytes - a.bytes }
}).sort((x, y) => y.grew - x.grew).slice(0, top)

print(`heap in the snapshots: ${(total(first) / KiB / KiB).toFixed(1)} MiB -> ${(total(second) / KiB / KiB).toFixed(1)} MiB\n`)
print(formatTable(
  ['kind', 'count before', 'count after', 'KiB before', 'KiB after', 'grew KiB'],
  rows.map(row => [row.key.slice(0, 60), String(row.a.count), String(row.b.count), (row.a.bytes / KiB).toFixed(0), (row.b.bytes / KiB).toFixed(0), (row.grew / KiB).toFixed(0)])
))
