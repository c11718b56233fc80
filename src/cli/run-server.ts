/**
 * Starting and stopping the server the command describes: identity, node, metrics endpoint, relay registration.
 * Kept apart from main.ts so that `--help` and bad options answer without loading libp2p, and so that tests can
 * run a server in-process exactly as the command does.
 */
import { logger as createLogger } from '@libp2p/logger'
import { POINTS_NAMESPACE, RELAY_NAMESPACE } from '../constants.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { startMetricsServer } from './metrics-server.ts'
import { createRendezvousNode } from './node.ts'
import { redactUrl } from './redact-url.ts'
import type { MetricsServer } from './metrics-server.ts'
import type { RendezvousNode } from './node.ts'
import type { CliConfig } from './parse-cli.ts'
import type { RegistrationStore } from '../server/store/registration-store.ts'
import type { AbortOptions } from '@libp2p/interface'

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

function describeStore (config: CliConfig): string {
  return config.store.kind === 'memory'
    ? 'memory'
    : `${redactUrl(config.store.url)} (schema ${config.store.schema})`
}

/**
 * Starts the store within `config.storeStartTimeout`. A store that never answers (a service that is not
 * PostgreSQL, where the driver reconnects without end; a firewall that drops packets) would otherwise hold the
 * start, silent, for good. Rejects with the signal's reason when it aborts first.
 */
async function startStore (store: RegistrationStore, config: CliConfig, signal?: AbortSignal): Promise<void> {
  const deadline = AbortSignal.timeout(config.storeStartTimeout)
  const either = signal == null ? deadline : AbortSignal.any([deadline, signal])
  const starting = Promise.resolve(store.start?.())
  let onAbort: (() => void) | undefined

  try {
    await Promise.race([starting, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(deadline.aborted ? new StartupError(`could not start: the store ${describeStore(config)} did not start within ${config.storeStartTimeout} ms: is it a PostgreSQL server, and reachable? (--store-start-timeout sets the limit)`) : either.reason) }
      if (either.aborted) {
        onAbort()
      }
      either.addEventListener('abort', onAbort, { once: true })
    })])
  } catch (err) {
    // whatever it was doing, let it go; the command exits anyway
    starting.catch(() => {})
    await store.stop?.().catch(() => {})
    throw err
  } finally {
    if (onAbort != null) {
      either.removeEventListener('abort', onAbort)
    }
  }
}

/** Why a libp2p start failed to listen, one line per address, without the stack traces and advice libp2p adds */
function listenFailure (err: any): string | undefined {
  if (err?.name !== 'UnsupportedListenAddressesError') {
    return undefined
  }

  const failures = [...String(err.message).matchAll(/^ {2}(\/\S+): (?:\w*Error: )?(.+)$/gm)].map(([, address, reason]) => {
    if (reason.includes('EADDRINUSE')) {
      return `${address}: the port is in use by another process`
    }
    if (reason.includes('EACCES')) {
      return `${address}: permission denied (ports below 1024 need privileges)`
    }
    if (reason.includes('EADDRNOTAVAIL')) {
      return `${address}: this machine has no such address`
    }
    return `${address}: ${reason}`
  })

  return failures.length === 0 ? undefined : `cannot listen on ${failures.join('; ')}`
}

/**
 * Starts everything the configuration asks for; on failure, stops what had started and throws a
 * {@link StartupError}. When `options.signal` aborts (a stop signal during start-up) it stops what had started and
 * rejects with the signal's reason.
 */
export async function runServer (config: CliConfig, io: { stderr(line: string): void }, options: AbortOptions = {}): Promise<RunningServer> {
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

  const stop = async (): Promise<void> => {
    // the endpoint, then the node, which stops the rendezvous service: it leaves its network of points, removes its
    // own listings (the relay's), stops accepting streams, lets requests in flight finish, and closes the store
    rendezvous.connectionLimits.stop()
    await metrics?.close()
    await node.stop()
  }

  try {
    await startStore(rendezvous.store, config, options.signal)
    options.signal?.throwIfAborted()
    // starts the store again, which is then a no-op
    await node.start()
    // a relay reservation holder keeps its connection idle between the circuits it is offered
    rendezvous.connectionLimits.start(node, peerId => node.services.relay?.reservations.has(peerId) === true)
    options.signal?.throwIfAborted()

    if (config.metrics != null && rendezvous.registry != null) {
      metrics = await startMetricsServer(rendezvous.registry, config.metrics, err => { log.error('metrics endpoint - %e', err) })
    }
  } catch (err: any) {
    await stop().catch(stopErr => { log.error('could not stop after a failed start - %e', stopErr) })

    if (options.signal?.aborted === true || err instanceof StartupError) {
      throw err
    }

    const cause = err.code != null && !String(err.message).includes(err.code) ? `${err.message} (${err.code})` : err.message
    throw new StartupError(`could not start: ${listenFailure(err) ?? cause}`)
  }

  return {
    peerId: node.peerId.toString(),
    multiaddrs: node.getMultiaddrs().map(ma => ma.toString()),
    metricsUrl: metrics?.url,
    rendezvous,
    stop
  }
}

/** What the point does in a network of points, when it is in one */
function pointsLine (config: CliConfig): string[] {
  const peers = config.server.peerPoints?.length ?? 0
  const admit = config.server.admitPoints ?? []

  if (peers === 0 && admit.length === 0) {
    return []
  }

  const admitted = admit === 'any' ? 'any point (closed test networks only)' : `the peer points and ${admit.length} listed point ids`
  return [`network of points: listed under ${POINTS_NAMESPACE}, ${peers} peer point addresses, admitting ${admitted}`]
}

/** The lines printed once the server is up; the last is one JSON object */
export function startupLines (server: RunningServer, config: CliConfig, version: string): string[] {
  return [
    `rendezvous-server ${version}`,
    `peer id: ${server.peerId}`,
    `store: ${describeStore(config)}`,
    ...(server.metricsUrl == null ? [] : [`metrics: ${server.metricsUrl}`]),
    ...(config.relay ? [`circuit relay: on, registered under ${RELAY_NAMESPACE}${config.relayUnlimited ? ', relayed connections unlimited' : ''}`] : []),
    ...pointsLine(config),
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
