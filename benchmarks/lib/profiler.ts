/**
 * A CPU profile of one phase of a benchmark, written where `BENCH_CPU_PROFILE` points (a directory), so that a
 * figure that misses its goal comes with where the time went. Nothing happens when the variable is not set.
 *
 * BENCH_CPU_PROFILE=/tmp/prof npx node benchmarks/discovery-latency/run-one.ts --method rendezvous --nodes 10
 * npx node benchmarks/lib/profile-summary.ts /tmp/prof/rendezvous-memory-10.cpuprofile
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

export interface PhaseProfiler {
  /** Stops profiling and writes the profile; resolves to its path, if one was written */
  stop(): Promise<string | undefined>
}

export async function profilePhase (name: string): Promise<PhaseProfiler> {
  const dir = process.env.BENCH_CPU_PROFILE

  if (dir == null || dir === '') {
    return { stop: async () => undefined }
  }

  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  // 100 µs: fine enough to see the short tasks a loaded event loop is made of
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')

  return {
    async stop () {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      await mkdir(dir, { recursive: true })
      const path = join(dir, `${name}.cpuprofile`)
      await writeFile(path, JSON.stringify(profile))
      return path
    }
  }
}
