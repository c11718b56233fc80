/**
 * The one error for an option that cannot work, whichever service or flag it belongs to: libp2p's
 * `InvalidParametersError`, whose message names who was given the option, the option, what it must be and the
 * value it got with its type, e.g.
 * `rendezvousServer: option maxTtl must be a whole number of seconds from 1 to 259200, got the string "7200"`.
 *
 * The factories name an option by its key; the `rendezvous-server` command names the flag, environment variable or
 * config file key it came from. Both build their messages here, through an {@link OptionNames}, so that a check
 * written once reads right in either place (no message is rewritten afterwards).
 */
import { InvalidParametersError } from '@libp2p/interface'
import { isMultiaddr } from '@multiformats/multiaddr'

/** How the messages of one caller name options and show values */
export interface OptionNames {
  /** The option at fault, as a message opens: `rendezvousServer: option maxTtl`, `--max-ttl` */
  subject(path: string): string
  /** Another option that a requirement refers to: `maxTtl`, `--max-ttl` */
  reference(path: string): string
  /** A value as the message shows it */
  show(path: string, value: unknown): string
  /** The error that carries the message */
  error(message: string): Error
}

/**
 * A value with its type, as the factories' messages show it: strings quoted and called strings (so that `"7200"`
 * cannot pass for a number), arrays and objects as JSON, numbers, booleans, null and undefined as they are
 */
export function describeValue (value: unknown): string {
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value)}`
  }

  if (typeof value === 'function') {
    return 'a function'
  }

  if (typeof value === 'bigint') {
    return `the bigint ${value}n`
  }

  if (typeof value === 'symbol') {
    return `the symbol ${String(value.description)}`
  }

  if (isMultiaddr(value)) {
    return `the multiaddr ${value.toString()}`
  }

  if (typeof value === 'object' && value !== null) {
    let json: string | undefined

    try {
      json = JSON.stringify(value)
    } catch {
      // a cycle: the kind of object is all there is to say
    }

    return `${Array.isArray(value) ? 'an array' : 'an object'}${json == null ? '' : ` ${json}`}`
  }

  return String(value)
}

/** The names of a factory's messages: `rendezvousClient: option timeout must be …` */
export function factoryNames (factory: string): OptionNames {
  return {
    subject: path => path === '' ? `${factory}: the options` : `${factory}: option ${path}`,
    reference: path => path,
    show: (_path, value) => describeValue(value),
    error: message => new InvalidParametersError(message)
  }
}

/** The error for `path`, which must be `requirement` and is `value` */
export function invalidOption (names: OptionNames, path: string, requirement: string, value: unknown): Error {
  return names.error(`${names.subject(path)} must be ${requirement}, got ${names.show(path, value)}`)
}
