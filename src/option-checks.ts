/**
 * The checks that the options of several parts share. Each throws the package's one error for a bad option
 * (`invalidOption`: an `InvalidParametersError` naming the factory, the option and the value).
 */
import { invalidOption } from './errors.ts'

/** `value`, when it is a whole number from 1 to `max` */
export function positiveInteger (owner: string, name: string, value: unknown, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalidOption(owner, name, `a positive integer${max === Number.MAX_SAFE_INTEGER ? '' : ` of at most ${max}`}`, value)
  }

  return value
}

/** `value`, when it is true or false */
export function booleanOption (owner: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw invalidOption(owner, name, 'true or false', value)
  }

  return value
}

/** `value`, when it is one of `allowed` */
export function oneOfOption <T extends string> (owner: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw invalidOption(owner, name, allowed.map(a => `'${a}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'), value)
  }

  return value as T
}
