/**
 * The command needs packages that a user of the library does not: libp2p's transports, the metrics registry, the
 * PostgreSQL driver, the circuit relay. They are optional peer dependencies of the package, so that a browser or
 * discovery-only install does not pull them in. Those of `--relay`, `--metrics` and a PostgreSQL `--store` are
 * loaded only when the flag asks for them; when one is missing, the command names the flag and the line that
 * installs it. When one it always needs is missing, it gives the line that installs every one of them, read from
 * the package's own `peerDependencies` so the list cannot fall behind.
 */
import { ownPackageJson } from './version.ts'

/** The packages only a flag needs, and the flag as the message names it */
const FLAG_PACKAGES: ReadonlyArray<{ flag: string, packages: string[] }> = [
  { flag: '--relay', packages: ['@libp2p/circuit-relay-v2'] },
  { flag: '--metrics', packages: ['@libp2p/prometheus-metrics', 'prom-client'] },
  { flag: 'a PostgreSQL --store', packages: ['postgres'] }
]

/** The package a failed import was looking for, when it failed because that package is not installed */
export function missingPackage (err: unknown): string | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }

  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string') {
    return undefined
  }

  return /Cannot find package '([^']+)'/.exec(message)?.[1]
}

/** What to tell the user when `name` is missing */
export async function missingPackageMessage (name: string): Promise<string> {
  const forFlag = FLAG_PACKAGES.find(entry => entry.packages.includes(name))

  if (forFlag != null) {
    return `the package "${name}" is not installed; ${forFlag.flag} needs it: npm install ${forFlag.packages.join(' ')}`
  }

  const peers = Object.keys((await ownPackageJson())?.peerDependencies ?? {}).sort()
  const install = peers.length > 0 ? `: npm install ${peers.join(' ')}` : ''

  return `the package "${name}" is not installed; the command needs these beside libp2p-rendezvous-discovery (the library alone does not)${install}`
}
