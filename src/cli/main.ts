/**
 * The `rendezvous-server` command: parse the options, load the identity, start the node, print where it listens,
 * serve until SIGINT or SIGTERM, stop cleanly.
 *
 * Exit status: 0 after a clean stop (or --help/--version), 1 when the server could not start or stop, 2 for bad
 * options. What the server prints on start is made for people and for programs: a line per dialable multiaddr,
 * then one JSON line (`{"event":"listening",...}`) with everything a test or a supervisor needs.
 */
import { readFileSync } from 'node:fs'
import { applyLogLevel } from './log-level.ts'
import { missingPackage, missingPackageMessage } from './missing-package.ts'
import { helpText, parseCli, UsageError } from './options.ts'
import { packageVersion } from './version.ts'
import type { RunningServer } from './run-server.ts'

export interface CliIo {
  stdout(line: string): void
  stderr(line: string): void
  env: Record<string, string | undefined>
  /** Reads the config file */
  readFile(path: string): string
}

const EXIT_OK = 0
const EXIT_FAILURE = 1
const EXIT_USAGE = 2
/** How long a graceful stop may take before the command gives up on it */
const STOP_TIMEOUT_MS = 30_000

export const defaultIo: CliIo = {
  // eslint-disable-next-line no-console
  stdout: line => { console.log(line) },
  // eslint-disable-next-line no-console
  stderr: line => { console.error(line) },
  env: process.env,
  readFile: path => readFileSync(path, 'utf8')
}

/** Resolves with the name of the first of SIGINT/SIGTERM to arrive */
async function nextStopSignal (): Promise<NodeJS.Signals> {
  return new Promise(resolve => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/** Runs the command; resolves with the exit status */
export async function main (argv: string[], io: CliIo = defaultIo): Promise<number> {
  let request
  try {
    request = parseCli(argv, io.env, io.readFile)
  } catch (err: any) {
    if (err instanceof UsageError) {
      io.stderr(`rendezvous-server: ${err.message}`)
      io.stderr('Run rendezvous-server --help to see the options.')
      return EXIT_USAGE
    }
    throw err
  }

  if (request.action === 'help') {
    io.stdout(helpText())
    return EXIT_OK
  }

  const version = await packageVersion()

  if (request.action === 'version') {
    io.stdout(version)
    return EXIT_OK
  }

  const { config } = request
  applyLogLevel(config.logLevel, io.env.DEBUG)

  // from here on a signal means "stop"; one that arrives during start-up is acted on once start-up is done
  const signal = nextStopSignal()
  // loaded only now: libp2p and the stores take a while to load, and --help or a bad flag need none of them (nor
  // need they be installed: the server's packages are optional peer dependencies)
  let running: typeof import('./run-server.ts') | undefined
  let server: RunningServer
  try {
    running = await import('./run-server.ts')
    server = await running.runServer(config, io)
  } catch (err: any) {
    const missing = missingPackage(err)

    if (missing != null) {
      io.stderr(`rendezvous-server: ${await missingPackageMessage(missing)}`)
    } else {
      io.stderr(`rendezvous-server: ${running != null && err instanceof running.StartupError ? err.message : `could not start: ${err.message}`}`)
    }
    return EXIT_FAILURE
  }

  for (const line of running.startupLines(server, config, version)) {
    io.stdout(line)
  }

  const received = await signal
  io.stdout(`rendezvous-server: ${received}, stopping`)

  // a second signal, or a stop that hangs, ends the process without waiting any longer
  const forced = Promise.race([
    nextStopSignal().then(s => `${s} again`),
    new Promise<string>(resolve => setTimeout(resolve, STOP_TIMEOUT_MS, `still stopping after ${STOP_TIMEOUT_MS} ms`).unref())
  ])

  try {
    const outcome = await Promise.race([server.stop().then(() => undefined), forced])

    if (outcome != null) {
      io.stderr(`rendezvous-server: ${outcome}, exiting without a clean stop`)
      return EXIT_FAILURE
    }
  } catch (err: any) {
    io.stderr(`rendezvous-server: could not stop cleanly: ${err.message}`)
    return EXIT_FAILURE
  }

  io.stdout('rendezvous-server: stopped')
  return EXIT_OK
}
