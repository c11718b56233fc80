/**
 * Output helpers. Benchmarks report on stdout; progress goes to stderr so that a child's stdout stays one JSON
 * document the parent can parse.
 */

/** Writes a line to stdout */
export function print (line: string = ''): void {
  process.stdout.write(`${line}\n`)
}

/** Writes a progress line to stderr, prefixed with the elapsed wall time */
export function progress (line: string): void {
  const seconds = (performance.now() / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[${seconds}s] ${line}\n`)
}

/** Writes a diagnostic line to stderr when BENCH_DEBUG is set */
export function debug (line: string): void {
  if (process.env.BENCH_DEBUG != null) {
    process.stderr.write(`${line}\n`)
  }
}
