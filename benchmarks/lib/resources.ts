/**
 * CPU and memory of the current process over a measured phase: CPU time from `process.cpuUsage()` (user +
 * system, so it can exceed wall time on several cores), peak resident set size sampled on a timer, and the
 * event loop's delay: all nodes of a run share one loop, so a long delay means the timings measure a starved
 * loop more than the method.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface ResourceUsage {
  /** CPU time used during the phase, in ms */
  cpuMs: number
  /** Wall time of the phase, in ms */
  wallMs: number
  /** Resident set size when the phase began, in MiB */
  startRssMiB: number
  /** Highest resident set size sampled during the phase, in MiB */
  peakRssMiB: number
  /** Event loop delay over the phase, in ms: median, 99th percentile and maximum */
  loopDelayMs: { p50: number, p99: number, max: number }
}

const MiB = 1024 * 1024

export class ResourceMeter {
  private readonly cpuStart = process.cpuUsage()
  private readonly wallStart = performance.now()
  private readonly startRss = process.memoryUsage.rss()
  private peakRss = this.startRss
  private readonly timer: ReturnType<typeof setInterval>
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 })

  /** Starts measuring at once; samples RSS every `sampleIntervalMs` (default 100) */
  constructor (sampleIntervalMs = 100) {
    this.timer = setInterval(() => { this.sample() }, sampleIntervalMs)
    this.timer.unref()
    this.loopDelay.enable()
  }

  /** Takes one RSS sample now (also call it at moments likely to be a peak) */
  sample (): void {
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss())
  }

  stop (): ResourceUsage {
    this.sample()
    clearInterval(this.timer)
    this.loopDelay.disable()
    const cpu = process.cpuUsage(this.cpuStart)
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - this.wallStart,
      startRssMiB: this.startRss / MiB,
      peakRssMiB: this.peakRss / MiB,
      loopDelayMs: {
        p50: this.loopDelay.percentile(50) / 1e6,
        p99: this.loopDelay.percentile(99) / 1e6,
        max: this.loopDelay.max / 1e6
      }
    }
  }
}
