/**
 * CPU time of other processes, read from Linux's /proc: what the real multi-process runs measure each process by
 * (the point, every node group, the delaying proxy), since the processes run inside network namespaces and cannot be
 * asked for their `process.cpuUsage()` without a command of their own. `/proc/<pid>/stat` of a thread group leader
 * counts every thread of the process (V8's GC helpers, libuv's pool), in clock ticks (10 ms on Linux).
 */
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`: 100 on every Linux this runs on) */
const TICKS_PER_SECOND = 100

export interface ProcSample {
  /** User + system CPU time of the whole process, ms */
  cpuMs: number
  /** Its state letter: R running, S sleeping, D waiting on a disk, Z zombie, ... */
  state: string
}

/** The CPU time and state of process `pid`; undefined once it has gone */
export function procSample (pid: number): ProcSample | undefined {
  let text: string

  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }

  // the command name (field 2) is in parentheses and may hold spaces: the fields that matter follow its `)`
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return { cpuMs: (utime + stime) * 1000 / TICKS_PER_SECOND, state: fields[0] }
}

/** CPU time of the whole machine so far, every core summed (from /proc/stat), and its idle share, ms */
export function machineCpu (): { busyMs: number, idleMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const ticks = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal ...
  const idle = ticks[3] + (ticks[4] ?? 0)
  const all = ticks.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busyMs: (all - idle) * 1000 / TICKS_PER_SECOND, idleMs: idle * 1000 / TICKS_PER_SECOND }
}

/**
 * Resolves once each process has gone idle: sleeping, with no CPU time gained over `quietMs` after having used
 * some (a Node process that has loaded its modules and waits on its stdin). Rejects after `boundMs`
 */
export async function waitIdle (pids: number[], quietMs = 300, boundMs = 60_000): Promise<void> {
  const deadline = Date.now() + boundMs
  const last = new Map<number, { cpuMs: number, since: number }>()

  for (;;) {
    const now = Date.now()
    let idle = 0

    for (const pid of pids) {
      const sample = procSample(pid)

      if (sample == null) {
        throw new Error(`process ${pid} ended while loading`)
      }

      const before = last.get(pid)

      if (before == null || before.cpuMs !== sample.cpuMs || sample.state === 'R') {
        last.set(pid, { cpuMs: sample.cpuMs, since: now })
      } else if (now - before.since >= quietMs && sample.cpuMs > 0) {
        idle++
      }
    }

    if (idle === pids.length) {
      return
    }

    if (now > deadline) {
      throw new Error(`processes still busy loading after ${boundMs} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
