/**
 * The `rendezvous-server` command: parse the options, load the identity, start the node, print where it listens,
 * serve until SIGINT or SIGTERM, stop cleanly.
 *
 * Exit status: 0 after a clean stop (or --help/--version), 1 when the server could not start or stop, 2 for bad
 * options. What the server prints on start is made for people and for programs: a line per dialable multiaddr,
 * then one JSON line (`{"event":"listening",...}`) with everything a test or a supervisor needs.
 */
import { readFileSync } from 'node:fs'
import { logger as createLogger } from '@libp2p/logger'
import { RELAY_NAMESPACE } from '../constants.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { applyLogLevel } from './log-level.ts'
import { startMetricsServer } from './metrics-server.ts'
import { createRendezvousNode } from './node.ts'
import { helpText, parseCli, redactUrl, UsageError } from './options.ts'
import { SelfRegistration } from './self-registration.ts'
import { packageVersion } from './version.ts'
import type { MetricsServer } from './metrics-server.ts'
import type { RendezvousNode } from './node.ts'
import type { CliConfig } from './options.ts'

export interface CliIo {
  stdout(line: string): void
  stderr(line: string): void
  env: Record<string, string | undefined>
  /** Reads the config file */
  readFile(path: string): string
}

/** A started server */
export interface RunningServer {
  peerId: string
  /** Dialable addresses, each ending in /p2p/<peerId> */
  multiaddrs: string[]
  /** The Prometheus endpoint, when metrics are on */
  metricsUrl?: string
  rendezvous: RendezvousNode
  /** Stops accepting, lets requests in flight finish, closes the store and the metrics endpoint */
  stop(): Promise<void>
}

/** Thrown when the server could not start; the command exits with status 1 */
export class StartupError extends Error {
  static name = 'StartupError'
  name = 'StartupError'
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

function describeStore (config: CliConfig): string {
  return config.store.kind === 'memory'
    ? 'memory'
    : `${redactUrl(config.store.url)} (schema ${config.store.schema})`
}

/** Starts everything the configuration asks for; on failure, stops what had started and throws a {@link StartupError} */
export async function runServer (config: CliConfig, io: Pick<CliIo, 'stderr'> = defaultIo): Promise<RunningServer> {
  const log = createLogger('libp2p:rendezvous:cli')

  let identity
  try {
    identity = await loadOrCreateIdentity(config.identityFile)
  } catch (err: any) {
    throw new StartupError(`cannot use identity file ${config.identityFile}: ${err.message}`)
  }

  if (identity.warning != null) {
    io.stderr(`rendezvous-server: warning: ${identity.warning}`)
  }

  const rendezvous = await createRendezvousNode(config, identity.privateKey)
  const { node } = rendezvous
  let metrics: MetricsServer | undefined
  let selfRegistration: SelfRegistration | undefined

  const stop = async (): Promise<void> => {
    // the relay registration first (it writes to the store), then the endpoint, then the node, which stops the
    // rendezvous service: it stops accepting streams, lets requests in flight finish, and closes the store
    await selfRegistration?.stop()
    await metrics?.close()
    await node.stop()
  }

  try {
    await node.start()

    if (config.metrics != null) {
      metrics = await startMetricsServer(rendezvous.registry, config.metrics, err => { log.error('metrics endpoint - %e', err) })
    }

    if (config.relay) {
      selfRegistration = new SelfRegistration({
        node,
        privateKey: identity.privateKey,
        store: rendezvous.store,
        config: node.services.rendezvous.config,
        namespace: RELAY_NAMESPACE,
        log
      })
      await selfRegistration.start()
    }
  } catch (err: any) {
    await stop().catch(stopErr => { log.error('could not stop after a failed start - %e', stopErr) })
    const cause = err.code != null && !String(err.message).includes(err.code) ? `${err.message} (${err.code})` : err.message
    throw new StartupError(`could not start: ${cause}`)
  }

  return {
    peerId: node.peerId.toString(),
    multiaddrs: node.getMultiaddrs().map(ma => ma.toString()),
    metricsUrl: metrics?.url,
    rendezvous,
    stop
  }
}

/** The lines printed once the server is up; the last is one JSON object */
export function startupLines (server: RunningServer, config: CliConfig, version: string): string[] {
  return [
    `rendezvous-server ${version}`,
    `peer id: ${server.peerId}`,
    `store: ${describeStore(config)}`,
    ...(server.metricsUrl == null ? [] : [`metrics: ${server.metricsUrl}`]),
    ...(config.relay ? [`circuit relay: on, registered under ${RELAY_NAMESPACE}`] : []),
    'listening on:',
    ...server.multiaddrs,
    JSON.stringify({
      event: 'listening',
      version,
      peerId: server.peerId,
      multiaddrs: server.multiaddrs,
      metrics: server.metricsUrl ?? null,
      store: describeStore(config),
      relay: config.relay
    })
  ]
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
  let server: RunningServer
  try {
    server = await runServer(config, io)
  } catch (err: any) {
    io.stderr(`rendezvous-server: ${err instanceof StartupError ? err.message : `could not start: ${err.message}`}`)
    return EXIT_FAILURE
  }

  for (const line of startupLines(server, config, version)) {
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
