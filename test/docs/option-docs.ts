/**
 * The option tables of docs/configuration.md as the option tables of the code make them: one row per option with
 * what it accepts, its default and its line of docs. The docs test compares them with the file; when they differ,
 * its message holds the table to paste.
 */
import { flagDefault, flagDoc, flagPlaceholder } from '../../src/cli/help.ts'
import { COMMAND_OPTIONS } from '../../src/cli/option-table.ts'
import { defaultCell } from '../../src/options/option-table.ts'
import type { OptionRow, OptionTable } from '../../src/options/option-table.ts'

/** A cell's text with what Markdown would take for a table border or an HTML tag escaped */
function cell (text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '\\<').replace(/>/g, '\\>')
}

/** Escapes outside code spans only: inside them a backslash would show */
function prose (text: string): string {
  return text.split(/(`[^`]*`)/).map(part => part.startsWith('`') ? part.replace(/\|/g, '\\|') : cell(part)).join('')
}

/** The Markdown table of a service's options */
export function serviceTable (table: OptionTable<any, any>): string[] {
  const lines = ['| option | accepts | default | meaning |', '|---|---|---|---|']

  for (const [key, row] of Object.entries(table.rows) as Array<[string, OptionRow<unknown>]>) {
    lines.push(`| \`${key}\` | ${cell(row.type.requirement)} | ${prose(defaultCell(row))} | ${prose(row.doc)} |`)
  }

  return lines
}

/** The Markdown table of the command's flags */
export function commandTable (): string[] {
  const lines = ['| flag | accepts | default | meaning |', '|---|---|---|---|']

  for (const option of COMMAND_OPTIONS) {
    const placeholder = flagPlaceholder(option)
    const flag = `\`--${option.flag}${placeholder == null ? '' : ` ${placeholder}`}\``.replace(/\|/g, '\\|')
    lines.push(`| ${flag} | ${cell(option.switch === true ? 'a switch (true or false in the environment and the file)' : option.row.type.requirement)} | ${prose(flagDefault(option, true) ?? 'none')} | ${prose(flagDoc(option, true))} |`)
  }

  return lines
}
