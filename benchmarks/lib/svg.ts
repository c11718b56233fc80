/**
 * A hand-written SVG chart of latency distributions: one panel per scenario, one row per method, one dot per
 * sample on a logarithmic time axis, with the median and the 95th percentile marked and the samples that never
 * arrived counted at the right. No dependencies: the output is a string.
 */
import { percentile } from './stats.ts'

export interface ChartRow {
  label: string
  /** Samples, in ms */
  values: number[]
  /** Samples that never arrived within the bound */
  missing: number
}

export interface ChartPanel {
  title: string
  rows: ChartRow[]
}

export interface ChartInit {
  title: string
  subtitle?: string
  panels: ChartPanel[]
  /** Axis range in ms (logarithmic) */
  minMs: number
  maxMs: number
}

const WIDTH = 960
const LABEL_WIDTH = 250
const RIGHT_WIDTH = 110
const ROW_HEIGHT = 26
const PANEL_GAP = 46
const TOP = 80
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac']

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function fmtTick (ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`
}

export function renderDistributionChart (init: ChartInit): string {
  const plotLeft = LABEL_WIDTH
  const plotRight = WIDTH - RIGHT_WIDTH
  const logMin = Math.log10(init.minMs)
  const logMax = Math.log10(init.maxMs)
  const x = (ms: number): number => plotLeft + (Math.log10(Math.min(Math.max(ms, init.minMs), init.maxMs)) - logMin) / (logMax - logMin) * (plotRight - plotLeft)
  const ticks: number[] = []
  for (let decade = Math.floor(logMin); decade <= Math.ceil(logMax); decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade
      if (v >= init.minMs && v <= init.maxMs) {
        ticks.push(v)
      }
    }
  }

  const labels = [...new Set(init.panels.flatMap(p => p.rows.map(r => r.label)))]
  const colour = (label: string): string => PALETTE[labels.indexOf(label) % PALETTE.length]

  const parts: string[] = []
  let y = TOP

  for (const panel of init.panels) {
    const panelTop = y
    const panelHeight = panel.rows.length * ROW_HEIGHT
    parts.push(`<text x="${plotLeft}" y="${panelTop - 12}" class="panel">${escape(panel.title)}</text>`)
    panel.rows.forEach((_, i) => {
      if (i % 2 === 0) {
        parts.push(`<rect x="0" y="${panelTop + i * ROW_HEIGHT}" width="${WIDTH}" height="${ROW_HEIGHT}" class="band"/>`)
      }
    })
    for (const tick of ticks) {
      parts.push(`<line x1="${x(tick).toFixed(1)}" y1="${panelTop}" x2="${x(tick).toFixed(1)}" y2="${panelTop + panelHeight}" class="grid"/>`)
      parts.push(`<text x="${x(tick).toFixed(1)}" y="${panelTop + panelHeight + 14}" class="tick">${fmtTick(tick)}</text>`)
    }
    parts.push(`<text x="${WIDTH - RIGHT_WIDTH + 8}" y="${panelTop - 12}" class="head">never</text>`)

    panel.rows.forEach((row, i) => {
      const cy = panelTop + i * ROW_HEIGHT + ROW_HEIGHT / 2
      const c = colour(row.label)
      parts.push(`<text x="${plotLeft - 10}" y="${cy + 4}" class="label">${escape(row.label)}</text>`)
      row.values.forEach((v, j) => {
        // a small deterministic vertical jitter so that equal values stay visible as a cluster
        const jitter = ((j * 7919) % 11 - 5) * 1.1
        parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter).toFixed(1)}" r="2.6" fill="${c}" fill-opacity="0.55"/>`)
      })
      const p50 = percentile(row.values, 50)
      const p95 = percentile(row.values, 95)
      if (p50 != null && p95 != null) {
        parts.push(`<line x1="${x(p50).toFixed(1)}" y1="${cy}" x2="${x(p95).toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1.5"/>`)
        parts.push(`<line x1="${x(p95).toFixed(1)}" y1="${cy - 6}" x2="${x(p95).toFixed(1)}" y2="${cy + 6}" stroke="#222" stroke-width="1.5"/>`)
        parts.push(`<rect x="${(x(p50) - 2).toFixed(1)}" y="${cy - 9}" width="4" height="18" fill="#111"/>`)
      }
      const total = row.values.length + row.missing
      parts.push(`<text x="${WIDTH - RIGHT_WIDTH + 8}" y="${cy + 4}" class="${row.missing > 0 ? 'never' : 'ok'}">${row.missing}/${total}</text>`)
    })

    y = panelTop + panelHeight + PANEL_GAP
  }

  const height = y + 10
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
.title { font-size: 16px; font-weight: bold; fill: #111 }
.sub { font-size: 12px; fill: #555 }
.panel { font-size: 13px; font-weight: bold; fill: #222 }
.head { font-size: 11px; fill: #555 }
.label { font-size: 12px; fill: #222; text-anchor: end }
.tick { font-size: 10px; fill: #666; text-anchor: middle }
.grid { stroke: #ddd; stroke-width: 1 }
.band { fill: #f6f6f6 }
.never { font-size: 12px; fill: #c0392b }
.ok { font-size: 12px; fill: #555 }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="22" class="title">${escape(init.title)}</text>
<text x="12" y="40" class="sub">${escape(init.subtitle ?? '')}</text>
${parts.join('\n')}
</svg>
`
}
