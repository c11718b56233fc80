/**
 * The `--help` text, made from the option table: every flag with what it takes, its line of docs, its environment
 * variable and its default. docs/configuration.md lists the same (a test holds the two together through the
 * functions here).
 */
import { COMMAND_OPTIONS, envName, flagOf } from './option-table.ts'
import type { CommandOption, OptionGroup } from './option-table.ts'

const GROUP_TITLES: Record<OptionGroup, string> = {
  network: 'Network',
  identity: 'Identity',
  store: 'Store',
  limits: 'Rendezvous limits',
  points: 'A network of points',
  relay: 'Circuit relay',
  operations: 'Operations'
}

/** A default as a flag would take it: a list comma-separated, anything else as it is */
function flagValue (value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value)
}

/**
 * An option's docs line for the command: the options of its service that it names (`minTtl`) become their flags
 * (`--min-ttl`). `markdown` keeps the code spans and links; without it they become plain text.
 */
export function flagDoc (option: CommandOption, markdown: boolean): string {
  const doc = forCommand(option, option.row.doc, markdown)
  return doc.charAt(0).toUpperCase() + doc.slice(1)
}

/**
 * Docs text of a service's option as the command says it: the options of the service it names (`minTtl`) become
 * their flags (`--min-ttl`); without `markdown`, code spans, links and bold become plain text
 */
function forCommand (option: CommandOption, text: string, markdown: boolean): string {
  const flags = text.replace(/`([A-Za-z]+)`/g, (span, key: string) => {
    const flag = option.sets == null ? undefined : flagOf(option.sets.service, key)
    return flag == null ? span : `\`--${flag}\``
  })

  return markdown ? flags : flags.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/\*\*([^*]+)\*\*/g, '$1').replace(/`/g, '')
}

/** An option's default as `--help` and the docs state it (`markdown`: the value as code), or undefined when it has none */
export function flagDefault (option: CommandOption, markdown: boolean): string | undefined {
  const { row } = option
  let value: string

  if (row.defaultText != null) {
    value = forCommand(option, row.defaultText, markdown)
  } else if (row.default === undefined) {
    return undefined
  } else {
    value = markdown ? `\`${flagValue(row.default)}\`` : flagValue(row.default)
  }

  return row.note == null ? value : `${value} (${forCommand(option, row.note, markdown)})`
}

/** What the flag takes, as `--help` writes it after the flag: `<s>`, `clamp|reject`; nothing for a switch */
export function flagPlaceholder (option: CommandOption): string | undefined {
  return option.switch === true ? undefined : option.row.type.placeholder
}

/** The `--help` text: every option with its env var and default */
export function helpText (): string {
  const lines = [
    'Usage: rendezvous-server [options]',
    '',
    'Runs a libp2p rendezvous point (/rendezvous/1.0.0). Prints its peer id and dialable addresses, then serves',
    'until SIGINT or SIGTERM. Every option can also be set by an environment variable (shown under it) or a JSON',
    'config file (--config); flags win over the environment, which wins over the file.',
    ''
  ]

  for (const group of Object.keys(GROUP_TITLES) as OptionGroup[]) {
    lines.push(`${GROUP_TITLES[group]}:`)

    for (const option of COMMAND_OPTIONS.filter(option => option.group === group)) {
      const placeholder = flagPlaceholder(option)
      const stated = flagDefault(option, false)
      lines.push(`  --${option.flag}${placeholder == null ? '' : ` ${placeholder}`}`)
      lines.push(`      ${flagDoc(option, false)}`)
      lines.push(`      env ${envName(option.flag)}${stated == null ? '' : `, default ${stated}`}`)
    }

    lines.push('')
  }

  lines.push(
    'Other:',
    '  -h, --help       Show this text',
    '  -v, --version    Show the version',
    '',
    'Exit status: 0 after a clean stop (also when SIGINT or SIGTERM comes during start-up), 1 when the server',
    'could not start (e.g. the database is unreachable, the store did not start within --store-start-timeout, or a',
    'port is taken) or did not stop cleanly (a second signal, or a stop longer than --stop-timeout), 2 for bad',
    'options. The JSON "listening" line is the last line written to stdout.',
    '',
    'Examples:',
    '  rendezvous-server --identity /var/lib/rendezvous/identity.key --listen /ip4/0.0.0.0/tcp/4001 --metrics 9464',
    '  RENDEZVOUS_STORE=postgres://rendezvous:secret@db:5432/rendezvous rendezvous-server --relay',
    '  rendezvous-server --peer-point /dns4/rdv1.example.com/tcp/4001/p2p/12D3KooW... --admit-point 12D3KooW...',
    ''
  )

  return lines.join('\n')
}
