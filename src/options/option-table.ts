/**
 * An option table: one row per option of a service, with its type (and bounds), its default and one line of docs.
 * A table is typed against the service's `Init` interface, which stays the public face (its doc comments and
 * `@default` tags are what the API docs show): an option added to the interface without a row does not compile.
 *
 * Everything else is derived from the tables: the factory's check (`checkOptions`), the defaults (`defaultsOf`),
 * the `rendezvous-server` flags, environment variables, config file keys and `--help`; and a test holds
 * docs/configuration.md and the `@default` tags to them.
 *
 * Hand-written rather than a schema library (zod, valibot): the js-libp2p modules depend on none, and a table of
 * this package's own also carries what the command and the docs need (units, placeholders, docs lines).
 */
import type { OptionType } from './option-types.ts'

export interface OptionRow<T> {
  /** What the value must be, with its bounds */
  type: OptionType<T>
  /** The value when the option is left out; absent when it has none (or it follows other options, see `defaultText`) */
  default?: T
  /** Said after the default in parentheses, in the docs and the `@default` tag: why this value, or what it means */
  note?: string
  /** Said instead of a value when the default is not one fixed value: "none", "a new `memoryRegistrationStore()`" */
  defaultText?: string
  /** The option must be given */
  required?: true
  /** One line of docs (Markdown): docs/configuration.md shows it, and `--help` for a flag */
  doc: string
}

/** A row for every option of `Init`, typed as the option is */
export type OptionRows<Init> = { readonly [Key in keyof Init]-?: OptionRow<Exclude<Init[Key], undefined>> }

/** What the relations of a table's options are given, once every value passed its own check */
export interface RelateContext {
  /** Whether the caller gave the option (a default that follows other options applies only when not) */
  isSet(key: string): boolean
  /** Throws the option error for `key`, which must be `requirement` */
  fail(key: string, requirement: string, value: unknown): never
  /** How a message names another option, e.g. `maxTtl` or `--max-ttl` */
  ref(key: string): string
}

export interface OptionTable<Init, Config = Init> {
  /** Who is given the options, as messages name it: `rendezvousServer` */
  readonly owner?: string
  readonly rows: OptionRows<Init>
  /**
   * The rules between options (a minimum below its maximum) and the defaults that follow other options, run after
   * the defaults are applied; it may change `config`
   */
  relate?(config: Config, context: RelateContext): void
}

/** Every default of a table, by option */
export function defaultsOf <Init, Config> (table: OptionTable<Init, Config>): Record<string, unknown> {
  const defaults: Record<string, unknown> = {}

  for (const [key, row] of Object.entries(table.rows) as Array<[string, OptionRow<unknown>]>) {
    if (row.default !== undefined) {
      defaults[key] = row.default
    }
  }

  return defaults
}

/**
 * A default as the docs and the `@default` tags write it: numbers and booleans as they are, strings quoted,
 * arrays and objects as literals
 */
export function formatDefault (value: unknown): string {
  if (typeof value === 'string') {
    return `'${value}'`
  }

  if (Array.isArray(value)) {
    return `[${value.map(formatDefault).join(', ')}]`
  }

  if (typeof value === 'object' && value !== null) {
    if (Object.keys(value).length === 0) {
      return '{}'
    }

    return `{ ${Object.entries(value).map(([key, entry]) => `${key}: ${formatDefault(entry)}`).join(', ')} }`
  }

  return String(value)
}

/** The default of a row as the `@default` tag states it: the value (or the text standing for it), then the note */
export function defaultTag (row: OptionRow<unknown>): string {
  const value = row.required === true ? 'required' : row.defaultText ?? formatDefault(row.default)
  return row.note == null ? value : `${value} (${row.note})`
}

/** The default of a row as a table of docs/configuration.md states it: a value as code */
export function defaultCell (row: OptionRow<unknown>): string {
  const value = row.required === true ? 'required' : row.defaultText ?? `\`${formatDefault(row.default)}\``
  return row.note == null ? value : `${value} (${row.note})`
}
