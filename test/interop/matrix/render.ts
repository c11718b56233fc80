/**
 * The matrix as text: one row per (client, point), one column per scenario, then the explanation of every cell
 * that is a limit of another implementation, numbered. docs/interop.md carries this output as a run printed it.
 */
import { SCENARIOS } from './scenarios.ts'
import type { Scenario } from './scenarios.ts'
import type { Implementation } from '../fixtures/peer-process.ts'

export interface MatrixCell {
  client: Implementation
  server: Implementation
  scenario: Scenario
  result: 'pass' | 'limit' | 'FAIL' | 'n/a'
  detail?: string
  explanation?: string
}

const NAMES: Record<Implementation, string> = { js: 'ours', rust: 'rust', go: 'go' }

export function renderMatrix (cells: MatrixCell[]): string {
  const notes: string[] = []
  const noteOf = (text: string): number => {
    const index = notes.indexOf(text)
    if (index >= 0) {
      return index + 1
    }
    notes.push(text)
    return notes.length
  }

  const rows: string[][] = [['client -> point', ...SCENARIOS]]
  const pairs = [...new Set(cells.map(cell => `${cell.client} ${cell.server}`))]

  for (const pair of pairs) {
    const [client, server] = pair.split(' ') as Implementation[]
    const row = [`${NAMES[client]} -> ${NAMES[server]}`]

    for (const scenario of SCENARIOS) {
      const cell = cells.find(c => c.client === client && c.server === server && c.scenario === scenario)
      if (cell == null) {
        row.push('?')
      } else if (cell.result === 'limit') {
        row.push(`limit [${noteOf(cell.explanation ?? '')}]`)
      } else if (cell.result === 'FAIL') {
        row.push(`FAIL [${noteOf(`${NAMES[client]} -> ${NAMES[server]}, ${scenario}: ${cell.detail ?? 'failed'}`)}]`)
      } else {
        row.push(cell.result === 'n/a' ? '-' : 'pass')
      }
    }

    rows.push(row)
  }

  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  const line = (row: string[]): string => `| ${row.map((text, i) => text.padEnd(widths[i])).join(' | ')} |`
  const table = [line(rows[0]), `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)]
  const passed = cells.filter(cell => cell.result === 'pass').length
  const limits = cells.filter(cell => cell.result === 'limit').length
  const failed = cells.filter(cell => cell.result === 'FAIL').length
  const na = cells.filter(cell => cell.result === 'n/a').length

  return [
    ...table,
    '',
    `${passed} pass, ${limits} limits of another implementation, ${failed} FAIL, ${na} not applicable (-)`,
    ...notes.map((note, i) => `[${i + 1}] ${note}`)
  ].join('\n')
}
