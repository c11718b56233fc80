/**
 * Order statistics for latency samples, the one place benchmarks (and the tests that report figures) compute them.
 * Percentiles use the nearest-rank method, so every reported value is a sample that was actually measured.
 */

/** The nearest-rank percentile `p` (0-100) of `values`; `null` when there are none */
export function percentile (values: number[], p: number): number | null {
  if (values.length === 0) {
    return null
  }

  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

export function median (values: number[]): number | null {
  return percentile(values, 50)
}

/** The median of the figures that were measured: rounds that produced none (`null`, `undefined`, `NaN`) left out */
export function medianOf (values: Array<number | null | undefined>): number | null {
  return median(values.filter((v): v is number => v != null && !Number.isNaN(v)))
}

export interface LatencySummary {
  /** Samples that produced a value */
  count: number
  p50: number | null
  p95: number | null
  p99: number | null
  max: number | null
}

export function summarize (values: number[]): LatencySummary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length === 0 ? null : Math.max(...values)
  }
}

/** Formats milliseconds for a table: `-` for none, one decimal under 10 ms, whole numbers above */
export function fmtMs (ms: number | null | undefined): string {
  if (ms == null) {
    return '-'
  }

  return ms < 10 ? ms.toFixed(1) : Math.round(ms).toString()
}
