/**
 * What every results file says of its run: when it started and ended, on which Node and machine, and how busy the
 * machine was before and after (the machines are shared: a figure means little without the load beside it).
 */
import { cpus, loadavg } from 'node:os'

export interface RunMeta {
  startedAt: string
  finishedAt: string
  node: string
  cpus: number
  cpuModel?: string
  loadavgBefore: number[]
  loadavgAfter: number[]
}

/** The run's metadata, finished now; `loadavgAfter` defaults to the load average now */
export function runMeta (startedAt: Date, loadavgBefore: number[], loadavgAfter: number[] = loadavg()): RunMeta {
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgBefore,
    loadavgAfter
  }
}
