/**
 * Where the command's option values come from, and which wins: flags over the environment (`RENDEZVOUS_*`) over the
 * JSON config file (`--config`); the defaults come last, from the option table. Each value remembers where it came
 * from, so that a message names the flag, the variable or the config key at fault, and whether it is text to read
 * (flags, variables) or a JSON value to take as it is ("7200" in JSON is a string, not a number).
 */
import { parseArgs } from 'node:util'
import { closestName } from '../options/check-options.ts'
import { COMMAND_OPTIONS, configKey, envName } from './option-table.ts'
import { UsageError } from './usage-error.ts'
import type { ParseArgsConfig } from 'node:util'

export interface SourcedValue {
  /** As the source holds it: text, repeated text, a switch's true, or any JSON value */
  raw: unknown
  /** How messages name where it came from: `--max-ttl`, `environment variable RENDEZVOUS_MAX_TTL`, `"maxTtl" in c.json` */
  where: string
  /** Text to read (a flag or a variable), rather than a JSON value */
  text: boolean
}

interface Source {
  values: Map<string, SourcedValue>
}

function envSource (env: Record<string, string | undefined>): Source {
  const values = new Map<string, SourcedValue>()

  for (const { flag } of COMMAND_OPTIONS) {
    const value = env[envName(flag)]

    if (value != null && value !== '') {
      values.set(flag, { raw: value, where: `environment variable ${envName(flag)}`, text: true })
    }
  }

  return { values }
}

function configFileSource (path: string, text: string): Source {
  let parsed: unknown

  try {
    parsed = JSON.parse(text)
  } catch (err: any) {
    throw new UsageError(`config file ${path} is not valid JSON: ${err.message}`)
  }

  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`config file ${path} must hold a JSON object of options`)
  }

  const byKey = new Map(COMMAND_OPTIONS.filter(option => option.flag !== 'config').map(option => [configKey(option), option]))
  const values = new Map<string, SourcedValue>()

  for (const [key, value] of Object.entries(parsed)) {
    const option = byKey.get(key)

    if (option == null) {
      const meant = closestName(key, [...byKey.keys()])
      throw new UsageError(`config file ${path} has an unknown option "${key}" (${meant == null ? `known: ${[...byKey.keys()].join(', ')}` : `did you mean "${meant}"?`})`)
    }

    values.set(option.flag, { raw: value, where: `"${key}" in ${path}`, text: false })
  }

  return { values }
}

/**
 * `--min-ttl -5` as `--min-ttl=-5`: node's parser takes a value that starts with a dash for an option and calls
 * the flag "ambiguous", which hides the real problem (a negative number); joined, the value reaches its check
 */
function joinNegativeValues (argv: string[], options: ParseArgsConfig['options']): string[] {
  const joined: string[] = []

  for (let i = 0; i < argv.length; i++) {
    const option = argv[i].startsWith('--') ? options?.[argv[i].slice(2)] : undefined

    if (option?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) {
      joined.push(`${argv[i]}=${argv[i + 1]}`)
      i++
    } else {
      joined.push(argv[i])
    }
  }

  return joined
}

export interface FlagSource extends Source {
  help: boolean
  version: boolean
}

export function flagSource (argv: string[]): FlagSource {
  const options: ParseArgsConfig['options'] = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' }
  }

  for (const option of COMMAND_OPTIONS) {
    options[option.flag] = option.switch === true
      ? { type: 'boolean' }
      : { type: 'string', multiple: option.row.type.multiple === true }
  }

  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: false })
  } catch (err: any) {
    // node's messages name the option at fault ("Unknown option '--foo'", "Option '--listen <value>' argument missing")
    throw new UsageError(err.message)
  }

  const values = new Map<string, SourcedValue>()

  for (const [flag, value] of Object.entries(parsed.values)) {
    if (flag !== 'help' && flag !== 'version' && value !== undefined) {
      values.set(flag, { raw: value, where: `--${flag}`, text: true })
    }
  }

  return { values, help: parsed.values.help === true, version: parsed.values.version === true }
}

/**
 * The options in effect: the config file (named by a flag or a variable), then the environment, then the flags,
 * each overwriting what the one before set. `readFile` reads the config file.
 */
export function mergeSources (flags: FlagSource, env: Record<string, string | undefined>, readFile: (path: string) => string): Map<string, SourcedValue> {
  const environment = envSource(env)
  const sources: Source[] = [environment, flags]
  const config = flags.values.get('config') ?? environment.values.get('config')

  if (config != null) {
    const path = typeof config.raw === 'string' ? config.raw.trim() : ''

    if (path === '') {
      throw new UsageError(`${config.where} must name a file, got "${String(config.raw)}"`)
    }

    let text: string
    try {
      text = readFile(path)
    } catch (err: any) {
      throw new UsageError(`cannot read config file ${path}: ${err.message}`)
    }

    sources.unshift(configFileSource(path, text))
  }

  const merged = new Map<string, SourcedValue>()

  for (const source of sources) {
    for (const [flag, value] of source.values) {
      merged.set(flag, value)
    }
  }

  return merged
}
