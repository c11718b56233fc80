/**
 * Loaded into the soaked server with `--import`: every RDV_SOAK_PROBE_MS it writes one JSON line of the process's
 * own memory figures to file descriptor 3 (a pipe the soak reads). The server's /metrics has the heap in use and
 * external memory, but not V8's committed heap per space nor `arrayBuffers`, which are what tell V8's page pool,
 * Buffers and native (malloc) memory apart when RSS moves.
 *
 * With RDV_SOAK_PROBE_GC=1 (the soak's --live-heap, which also gives the server --expose-gc) each sample first
 * runs a full garbage collection, so that the heap in use is what is live rather than wherever the collector
 * happened to be: a diagnostic run, since a full collection every few seconds changes what V8 keeps committed.
 */
import { createWriteStream } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'

const intervalMs = Number(process.env.RDV_SOAK_PROBE_MS ?? 5000)
const collect = process.env.RDV_SOAK_PROBE_GC === '1' ? (globalThis as { gc?(): void }).gc : undefined
const out = createWriteStream('', { fd: 3 })
// the soak may stop reading before the server exits
out.on('error', () => {})

setInterval(() => {
  collect?.()
  const usage = process.memoryUsage()
  const spaces: Record<string, number> = {}
  for (const space of getHeapSpaceStatistics()) {
    spaces[space.space_name] = space.space_size
  }
  out.write(JSON.stringify({ at: Date.now(), ...usage, spaces }) + '\n')
}, intervalMs).unref()
