/**
 * The types an option's value can have, each with its bounds: whole numbers of seconds, ms or bytes within a range,
 * choices, switches, strings, lists. A type says what a value must be in words (the messages, `--help` and the docs
 * all use that one text), checks a value, and reads one from the text of a flag or an environment variable.
 *
 * Nested tables (an option whose value is an object of options) are in check-options.ts, which checks tables.
 */
import type { OptionNames } from './invalid-option.ts'

/** Where a value is checked: which option, and how messages name it */
export interface CheckContext {
  /** The option, e.g. `maxTtl`, `quotas.topic`, `points[1]` */
  readonly path: string
  readonly names: OptionNames
  /** Throws the option error: this option must be `requirement`, and it is `value` */
  fail(requirement: string, value: unknown): never
  /** The context of a part of this option's value: `at('topic')` for `quotas.topic`, `at(1)` for `points[1]` */
  at(part: string | number): CheckContext
}

export interface OptionType<T> {
  /** What a value must be, as messages, `--help` and the docs say it, e.g. `a whole number of seconds from 1 to 259200` */
  readonly requirement: string
  /** What `--help` writes after a flag of this type, e.g. `<s>` */
  readonly placeholder: string
  /** The value is a list: a flag of this type may be given several times */
  readonly multiple?: boolean
  /** Returns the value (or its normal form: a multiaddr for a string, an object with its defaults) or fails */
  check(value: unknown, context: CheckContext): T
  /**
   * The value that the text of a flag or an environment variable stands for; the text itself when it stands for
   * none, for `check` to refuse with the requirement
   */
  fromText?(text: string): unknown
}

/** The unit a number of an option counts in, as the requirement says it */
export type Unit = 'seconds' | 'ms' | 'bytes'

const PLACEHOLDERS: Record<Unit, string> = { seconds: '<s>', ms: '<ms>', bytes: '<bytes>' }

export interface NumberBounds {
  /** The smallest value allowed (or the largest not allowed, with `above`) */
  min: number
  /** The largest value allowed; none when absent */
  max?: number
  /** `min` itself is not allowed */
  above?: boolean
  unit?: Unit
}

/** A decimal number as a flag or a variable holds it; anything else stays text */
function numberFromText (text: string): unknown {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : text
}

function numberType (whole: boolean, bounds: NumberBounds): OptionType<number> {
  const { min, max, above = false, unit } = bounds
  const kind = `${whole ? 'a whole number' : 'a number'}${unit == null ? '' : ` of ${unit}`}`
  let range: string

  if (above) {
    range = max == null ? ` above ${min}` : ` above ${min} and at most ${max}`
  } else {
    range = max == null ? `, ${min} or more` : ` from ${min} to ${max}`
  }

  const requirement = `${kind}${range}`

  return {
    requirement,
    placeholder: unit == null ? '<n>' : PLACEHOLDERS[unit],
    check (value: unknown, context: CheckContext): number {
      if (typeof value !== 'number' || !Number.isFinite(value) || (whole && !Number.isSafeInteger(value)) ||
        value < min || (above && value === min) || (max != null && value > max)) {
        context.fail(requirement, value)
      }

      return value
    },
    fromText: numberFromText
  }
}

/** A whole number within bounds, e.g. `integer({ min: 1, max: MAX_TTL_SECONDS, unit: 'seconds' })` */
export function integer (bounds: NumberBounds): OptionType<number> {
  return numberType(true, bounds)
}

/** A finite number within bounds, fractions allowed */
export function decimal (bounds: NumberBounds): OptionType<number> {
  return numberType(false, bounds)
}

const TRUE_TEXTS = ['true', '1', 'yes', 'on']
const FALSE_TEXTS = ['false', '0', 'no', 'off']

/** `true` or `false`; a flag or a variable may also say yes/no, on/off, 1/0 */
export function boolean (): OptionType<boolean> {
  const requirement = 'true or false'

  return {
    requirement,
    placeholder: 'true|false',
    check (value: unknown, context: CheckContext): boolean {
      if (typeof value !== 'boolean') {
        context.fail(requirement, value)
      }

      return value
    },
    fromText (text) {
      const word = text.trim().toLowerCase()

      if (TRUE_TEXTS.includes(word)) {
        return true
      }

      return FALSE_TEXTS.includes(word) ? false : text
    }
  }
}

/** One of a few strings, e.g. `oneOf(['clamp', 'reject'])` */
export function oneOf <T extends string> (choices: readonly T[]): OptionType<T> {
  const quoted = choices.map(choice => `'${choice}'`)
  const requirement = quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`

  return {
    requirement,
    placeholder: choices.join('|'),
    check (value: unknown, context: CheckContext): T {
      if (!choices.includes(value as T)) {
        context.fail(requirement, value)
      }

      return value as T
    },
    fromText: text => text.trim()
  }
}

export interface TextOptions {
  /** What the text must be, when not just any non-empty string */
  requirement?: string
  placeholder?: string
  /** Whether a non-empty string has the form the requirement says */
  valid?(text: string): boolean
  /** Why a non-empty string cannot be used (said after the requirement), or undefined when it can */
  problem?(text: string): string | undefined
}

/** A non-empty string, optionally of a form `problem` checks */
export function text (options: TextOptions = {}): OptionType<string> {
  const requirement = options.requirement ?? 'a non-empty string'

  return {
    requirement,
    placeholder: options.placeholder ?? '<text>',
    check (value: unknown, context: CheckContext): string {
      if (typeof value !== 'string' || value === '' || options.valid?.(value) === false) {
        context.fail(requirement, value)
      }

      const problem = options.problem?.(value)

      if (problem != null) {
        context.fail(`${requirement} (${problem})`, value)
      }

      return value
    },
    fromText: text => text.trim()
  }
}

/** A protocol id: starts with `/`, no spaces */
export function protocolId (): OptionType<string> {
  return text({
    requirement: 'a protocol id that starts with "/" and holds no spaces, e.g. "/rendezvous/1.0.0"',
    placeholder: '<id>',
    valid: id => /^\/\S+$/.test(id)
  })
}

export interface ListOptions {
  /** At least one item */
  nonEmpty?: boolean
  /** What the list must be, when "an array of …" the items does not say it well */
  requirement?: string
  /**
   * What separates items in the text of a flag or a variable: commas, or for items that never hold a space
   * (multiaddrs, peer ids) commas or whitespace, so that an environment file may list them on one line either way
   */
  separator?: 'commas' | 'commas-or-whitespace'
}

/**
 * An array whose items are each of `item`'s type, each checked under its index (`points[1]`). A flag may be given
 * several times, and a flag or a variable may separate items with commas (or whitespace, see `separator`).
 */
export function list <T> (item: OptionType<T>, options: ListOptions = {}): OptionType<T[]> {
  const requirement = options.requirement ?? `${options.nonEmpty === true ? 'a non-empty array' : 'an array'} whose items are each ${item.requirement}`

  return {
    requirement,
    placeholder: item.placeholder,
    multiple: true,
    check (value: unknown, context: CheckContext): T[] {
      if (!Array.isArray(value) || (options.nonEmpty === true && value.length === 0)) {
        context.fail(requirement, value)
      }

      return value.map((entry, i) => item.check(entry, context.at(i)))
    },
    fromText: text => text.split(options.separator === 'commas-or-whitespace' ? /[\s,]+/ : ',').map(part => part.trim()).filter(part => part !== '').map(part => item.fromText?.(part) ?? part)
  }
}

/** A function; what it is called with and returns is the option's documented contract */
export function func <T extends (...args: any[]) => any> (): OptionType<T> {
  const requirement = 'a function'

  return {
    requirement,
    placeholder: '<function>',
    check (value: unknown, context: CheckContext): T {
      if (typeof value !== 'function') {
        context.fail(requirement, value)
      }

      return value as T
    }
  }
}

/** An object with these methods (a store, a client, a logger's interface): checked by its methods, whatever its class */
export function withMethods <T> (requirement: string, methods: string[]): OptionType<T> {
  return {
    requirement,
    placeholder: '<object>',
    check (value: unknown, context: CheckContext): T {
      if (typeof value !== 'object' || value === null || methods.some(method => typeof (value as Record<string, unknown>)[method] !== 'function')) {
        context.fail(requirement, value)
      }

      return value as T
    }
  }
}
