/**
 * The CPU of a real multi-process run on the virtual clock: a machine of `cores` cores and the OS processes on it
 * (node groups, the point). Each process is one Node event loop: its pieces of work run one after the other, in
 * the order they were queued, a later one waiting for the ones before it. The machine shares its cores among the
 * processes that have work, equally, as the kernel's scheduler does for processes of the same priority: with
 * `a` of them busy, each gets `min(1, cores / a)` of a core.
 *
 * This is what the one shared CPU of the earlier model got wrong at 50 nodes (one queue for everything, so work that
 * real processes do side by side on two cores waited in one line), and what it had no way to say at all: a piece
 * of work waits behind its own process's queue, not behind every other process's.
 */
import type { TimerHandle } from '../../../src/discovery/clock.ts'
import type { VirtualClock } from '../engine/virtual-clock.ts'

interface Work {
  /** CPU time still to do, ms */
  left: number
  /** What it is, for the account of where the CPU went */
  kind: string
  /** When it was queued, ms on the simulated clock */
  queuedAt: number
  done(): void
}

/**
 * Below this many ms of CPU left, a piece of work is done: the simulated clock counts ms since 1970 in a double,
 * whose steps there are about 0.0002 ms, so the sharing's arithmetic leaves crumbs that a timer could not wait out
 */
const EPSILON = 0.01

/** One OS process: one event loop */
export class SimProcess {
  readonly name: string
  /** CPU time done so far, ms */
  used = 0
  /** The same by kind of work (`connection`, `discover`, ...), ms */
  readonly usedBy: Record<string, number> = {}
  /** Pieces of work done by kind, and their time from queued to done (waiting behind earlier work, and running), ms */
  readonly waitedBy: Record<string, { pieces: number, ms: number }> = {}
  /** Work queued, the running piece first */
  readonly queue: Work[] = []
  private readonly machine: Machine

  constructor (machine: Machine, name: string) {
    this.machine = machine
    this.name = name
  }

  /** Resolves once `ms` of this process's CPU time, queued behind its earlier work, is done; `kind` says what it is */
  async run (ms: number, kind: string): Promise<void> {
    return this.machine.enqueue(this, ms, kind)
  }

  /** CPU time queued and not done yet, ms */
  get backlog (): number {
    return this.queue.reduce((sum, work) => sum + work.left, 0)
  }
}

export class Machine {
  readonly cores: number
  readonly processes: SimProcess[] = []
  private readonly clock: VirtualClock
  private updatedAt: number
  private timer?: TimerHandle

  constructor (clock: VirtualClock, cores: number) {
    if (!(cores > 0)) {
      throw new Error(`a machine needs more than 0 cores, not ${cores}`)
    }

    this.clock = clock
    this.cores = cores
    this.updatedAt = clock.now()
  }

  process (name: string): SimProcess {
    const proc = new SimProcess(this, name)
    this.processes.push(proc)
    return proc
  }

  /** CPU time every process did, ms */
  get used (): number {
    return this.processes.reduce((sum, p) => sum + p.used, 0)
  }

  async enqueue (proc: SimProcess, ms: number, kind: string): Promise<void> {
    this.advance()
    const done = new Promise<void>(resolve => {
      proc.queue.push({ left: Math.max(0, ms), kind, queuedAt: this.clock.now(), done: resolve })
    })
    this.schedule()
    return done
  }

  /** The share of a core each busy process gets now */
  private rate (): number {
    const busy = this.processes.reduce((n, p) => n + (p.queue.length > 0 ? 1 : 0), 0)
    return busy === 0 ? 1 : Math.min(1, this.cores / busy)
  }

  /** Brings every running piece of work up to now, and finishes those that are done */
  private advance (): void {
    const now = this.clock.now()
    const elapsed = now - this.updatedAt
    this.updatedAt = now
    const rate = this.rate()

    for (const proc of this.processes) {
      const head = proc.queue[0]

      if (head == null) {
        continue
      }

      // only the running piece advances: one that ends mid-interval ends at its timer, where the shares change
      const step = Math.min(elapsed * rate, head.left)
      head.left -= step
      proc.used += step
      proc.usedBy[head.kind] = (proc.usedBy[head.kind] ?? 0) + step

      if (head.left <= EPSILON) {
        proc.used += head.left
        proc.usedBy[head.kind] += head.left
        const waited = proc.waitedBy[head.kind] ?? { pieces: 0, ms: 0 }
        waited.pieces++
        waited.ms += now - head.queuedAt
        proc.waitedBy[head.kind] = waited
        proc.queue.shift()
        head.done()
      }
    }
  }

  /** Sets the one timer for the moment the next piece of work ends */
  private schedule (): void {
    if (this.timer != null) {
      this.clock.clearTimeout(this.timer)
      this.timer = undefined
    }

    const rate = this.rate()
    let next = Infinity

    for (const proc of this.processes) {
      if (proc.queue.length > 0) {
        next = Math.min(next, proc.queue[0].left / rate)
      }
    }

    if (next === Infinity) {
      return
    }

    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.advance()
      this.schedule()
    }, next)
  }
}
