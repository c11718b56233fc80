/**
 * Times the steps of an end-to-end scenario and reports them as a console table and one line of JSON
 * (`BROWSER_E2E_TIMINGS {...}` by default), so the figures can be read in the test output or picked out by a script.
 */

/* eslint-disable no-console */

export interface StepTiming {
  step: string
  /** How long the step took, in ms */
  ms: number
  /** When it ended, in ms since the scenario began */
  atMs: number
  ok: boolean
}

export class StepTimer {
  readonly steps: StepTiming[] = []
  private readonly began = performance.now()

  /** Runs `fn` as the step `name`, recording its duration whether it succeeds or throws */
  async step <T> (name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now()
    let ok = false
    try {
      const result = await fn()
      ok = true
      return result
    } finally {
      const ended = performance.now()
      this.steps.push({ step: name, ms: Math.round(ended - started), atMs: Math.round(ended - this.began), ok })
    }
  }

  /** Prints the table and the JSON line, which starts with `tag` */
  report (scenario: string, tag: string = 'BROWSER_E2E_TIMINGS'): void {
    if (this.steps.length === 0) {
      return
    }
    console.log(`\n      ${scenario}: step timings`)
    console.table(this.steps.map(s => ({ step: s.step, ms: s.ms, 'at ms': s.atMs, ok: s.ok ? 'yes' : 'FAILED' })))
    console.log(`${tag} ${JSON.stringify({ scenario, steps: this.steps })}`)
  }
}
