/**
 * The one check of options, which every factory runs when it is called (not later, when libp2p builds the
 * service): it refuses an options object with a key that is no option (a misspelt `maxTTL` would otherwise leave
 * the default in place without a word), checks each value against its row's type, applies the defaults, then the
 * table's relations (a minimum below its maximum, defaults that follow other options). The first problem throws
 * the option error (see invalid-option.ts).
 *
 * Every factory passes through here first, so this is also where the runtime is checked, once: libp2p v3 fails
 * deep inside itself on Node.js before 22.
 */
import { isMultiaddr } from '@multiformats/multiaddr'
import { assertSupportedRuntime } from '../supported-runtime.ts'
import { factoryNames, invalidOption } from './invalid-option.ts'
import type { OptionNames } from './invalid-option.ts'
import type { OptionRow, OptionTable } from './option-table.ts'
import type { CheckContext, OptionType } from './option-types.ts'

/** The context that checks the value of `path`, its messages named by `names` */
export function optionContext (names: OptionNames, path: string): CheckContext {
  return {
    path,
    names,
    fail (requirement, value) {
      throw invalidOption(names, path, requirement, value)
    },
    at (part) {
      if (typeof part === 'number') {
        return optionContext(names, `${path}[${part}]`)
      }

      return optionContext(names, path === '' ? part : `${path}.${part}`)
    }
  }
}

/** Edit distance with transpositions (`qouta` is one step from `quota`), for suggestions */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])

  for (let j = 1; j <= b.length; j++) {
    d[0][j] = j
  }

  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)

      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
      }
    }
  }

  return d[a.length][b.length]
}

/** The known name closest to `name`, when one is close enough to be what was meant */
export function closestName (name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity

  for (const candidate of known) {
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0 : distance(name.toLowerCase(), candidate.toLowerCase())

    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }

  return bestDistance <= Math.min(2, Math.floor(name.length / 3)) ? best : undefined
}

function unknownOption (context: CheckContext, key: string, known: readonly string[]): never {
  const meant = closestName(key, known)
  const hint = meant == null
    ? `the options are ${known.join(', ')}`
    : `did you mean ${context.names.reference(context.at(meant).path)}?`

  throw context.names.error(`${context.names.subject(context.at(key).path)} does not exist (${hint})`)
}

function isOptionsObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isMultiaddr(value)
}

/** What an options object of this table must be, e.g. `an object { ns, register?, discover? }` */
function objectRequirement (rows: Record<string, OptionRow<unknown>>): string {
  return `an object { ${Object.entries(rows).map(([key, row]) => row.required === true ? key : `${key}?`).join(', ')} }`
}

/** Checks `value` as an object of the table's options (see the file's comment); `context` names it */
export function checkTable <Init, Config> (table: OptionTable<Init, Config>, value: unknown, context: CheckContext): Config {
  const rows = table.rows as Record<string, OptionRow<unknown>>

  if (!isOptionsObject(value)) {
    context.fail(objectRequirement(rows), value)
  }

  const known = Object.keys(rows)

  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(rows, key)) {
      unknownOption(context, key, known)
    }
  }

  const config: Record<string, unknown> = {}

  for (const [key, row] of Object.entries(rows)) {
    const given = value[key]

    if (given !== undefined) {
      config[key] = row.type.check(given, context.at(key))
    } else if (row.required === true) {
      context.at(key).fail(row.type.requirement, given)
    } else if (row.default !== undefined) {
      // a copy, so that a service changing its arrays or objects cannot change the table
      config[key] = typeof row.default === 'object' && row.default !== null ? structuredClone(row.default) : row.default
    }
  }

  table.relate?.(config as Config, {
    isSet: key => value[key] !== undefined,
    fail: (key, requirement, given) => context.at(key).fail(requirement, given),
    ref: key => context.names.reference(context.at(key).path)
  })

  return config as Config
}

/** An option whose value is an object of options of its own (`quotas`, `clientInit`), checked by its table */
export function object <Init, Config> (table: OptionTable<Init, Config>): OptionType<Config> {
  return {
    requirement: objectRequirement(table.rows as Record<string, OptionRow<unknown>>),
    placeholder: '<object>',
    check: (value, context) => checkTable(table, value, context)
  }
}

/**
 * The options a factory was given, checked, with their defaults: throws the option error for the first problem.
 * The command passes the names of its flags instead of the factory's.
 */
export function checkOptions <Init, Config> (table: OptionTable<Init, Config>, init: unknown, names: OptionNames = factoryNames(table.owner ?? 'options')): Config {
  assertSupportedRuntime()
  return checkTable(table, init ?? {}, optionContext(names, ''))
}

/** One value checked against a type, named as `owner: option path` (for the arguments of a method, such as a TTL) */
export function checkValue <T> (type: OptionType<T>, owner: string, path: string, value: unknown): T {
  return type.check(value, optionContext(factoryNames(owner), path))
}
