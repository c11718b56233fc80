/**
 * The `rendezvous-server` command: parse the options, load the identity, start the node, print where it listens,
 * serve until SIGINT or SIGTERM, stop cleanly.
 *
 * Exit status: 0 after a clean stop (or --help/--version), also when the stop signal came during start-up; 1 when
 * the server could not start (within its deadlines) or stop; 2 for bad options. What the server prints on start
 * is made for people and for programs: a line per dialable multiaddr, then one JSON line
 * (`{"event":"listening",...}`) with everything a test or a supervisor needs, the last line it writes to stdout.
 */
import { readFileSync } from 'node:fs'
import { helpText } from './help.ts'
import { applyLogLevel } from './log-level.ts'
import { missingPackage, missingPackageMessage } from './missing-package.ts'
import { parseCli } from './parse-cli.ts'
import { UsageError } from './usage-error.ts'
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

/** A second signal, or a stop that takes too long: resolves with which, to end the process without waiting longer */
async function stopForced (): Promise<string> {
  return Promise.race([
    nextStopSignal().then(s => `${s} again`),
    new Promise<string>(resolve => setTimeout(resolve, STOP_TIMEOUT_MS, `still stopping after ${STOP_TIMEOUT_MS} ms`).unref())
  ])
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

  // from here on a signal means "stop", during start-up too: what has started is stopped and the command exits 0
  const signal = nextStopSignal()
  const startup = new AbortController()
  let received: NodeJS.Signals | undefined
  signal.then(name => {
    received = name
    startup.abort(new Error(`${name} during start-up`))
  }, () => {})

  // loaded only now: libp2p and the stores take a while to load, and --help or a bad flag need none of them (nor
  // need they be installed: the server's packages are optional peer dependencies)
  let running: typeof import('./run-server.ts') | undefined
  const starting = (async () => {
    running = await import('./run-server.ts')
    return running.runServer(config, io, { signal: startup.signal })
  })()
  let server: RunningServer
  try {
    const first = await Promise.race([starting, signal.then(() => undefined)])

    if (first == null) {
      // a signal came first: let the start wind down (it stops what it started), as long as a stop may take
      const outcome = await Promise.race([starting.then(async started => { await started.stop() }).then(() => undefined, () => undefined), stopForced()])
      io.stderr(`rendezvous-server: ${received}, stopped during start-up${outcome == null ? '' : ` (${outcome}, without a clean stop)`}`)
      return outcome == null ? EXIT_OK : EXIT_FAILURE
    }

    server = first
  } catch (err: any) {
    const missing = missingPackage(err)

    if (received != null) {
      io.stderr(`rendezvous-server: ${received}, stopped during start-up`)
      return EXIT_OK
    } else if (missing != null) {
      io.stderr(`rendezvous-server: ${await missingPackageMessage(missing)}`)
    } else {
      io.stderr(`rendezvous-server: ${running != null && err instanceof running.StartupError ? err.message : `could not start: ${err.message}`}`)
    }
    return EXIT_FAILURE
  }

  for (const line of running?.startupLines(server, config, version) ?? []) {
    io.stdout(line)
  }

  // the listening line stays the last line on stdout: what follows is for people, on stderr
  await signal
  io.stderr(`rendezvous-server: ${received}, stopping`)

  try {
    const outcome = await Promise.race([server.stop().then(() => undefined), stopForced()])

    if (outcome != null) {
      io.stderr(`rendezvous-server: ${outcome}, exiting without a clean stop`)
      return EXIT_FAILURE
    }
  } catch (err: any) {
    io.stderr(`rendezvous-server: could not stop cleanly: ${err.message}`)
    return EXIT_FAILURE
  }

  io.stderr('rendezvous-server: stopped')
  return EXIT_OK
}
