/**
 * The `rendezvous-server` command: parse the options, load the identity, start the node, print where it listens,
 * serve until SIGINT or SIGTERM, stop cleanly.
 *
 * Exit status: 0 after a clean stop (or --help/--version), also when the stop signal came during start-up; 1 when
 * the server could not start (within its deadlines) or did not stop cleanly (a second signal, or a stop longer than
 * --stop-timeout); 2 for bad options; never the signal's own status (see stop-signals.ts). What the server prints on start
 * is made for people and for programs: a line per dialable multiaddr, then one JSON line
 * (`{"event":"listening",...}`) with everything a test or a supervisor needs, the last line it writes to stdout.
 */
import { readFileSync } from 'node:fs'
import { helpText } from './help.ts'
import { applyLogLevel } from './log-level.ts'
import { missingPackage, missingPackageMessage } from './missing-package.ts'
import { parseCli } from './parse-cli.ts'
import { stopSignals } from './stop-signals.ts'
import { UsageError } from './usage-error.ts'
import { packageVersion } from './version.ts'
import type { RunningServer } from './run-server.ts'
import type { StopSignals } from './stop-signals.ts'

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

export const defaultIo: CliIo = {
  // eslint-disable-next-line no-console
  stdout: line => { console.log(line) },
  // eslint-disable-next-line no-console
  stderr: line => { console.error(line) },
  env: process.env,
  readFile: path => readFileSync(path, 'utf8')
}

/**
 * A second signal, or a stop that takes longer than `limit` ms: resolves with which, to end the process without
 * waiting longer
 */
async function stopForced (signals: StopSignals, limit: number): Promise<string> {
  return Promise.race([
    signals.nth(2).then(s => `${s} again`),
    new Promise<string>(resolve => setTimeout(resolve, limit, `still stopping after ${limit} ms`).unref())
  ])
}

/** Runs the command; resolves with the exit status */
export async function main (argv: string[], io: CliIo = defaultIo): Promise<number> {
  // heard from the start, for good: no signal may meet its default action, which ends the process with 128 + n
  const signals = stopSignals()
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
  const signal = signals.nth(1)
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
      const outcome = await Promise.race([starting.then(async started => { await started.stop() }).then(() => undefined, () => undefined), stopForced(signals, config.stopTimeout)])
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
    const outcome = await Promise.race([server.stop().then(() => undefined), stopForced(signals, config.stopTimeout)])

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
