/**
 * A rendezvous server in a process of its own (ours through serve.ts, or canvas's), driven over stdin/stdout:
 * one JSON line when ready, one JSON line per `stats` (and, ours only, `profile-start` / `profile-stop`) request,
 * `exit` to stop. The load generator stays in the
 * parent, so the server's CPU figures are its own.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { JsonLinesChild } from '../lib/json-lines-child.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ServerReady {
  addrs: string[]
  protocol: string
  fill?: {
    count: number
    ms: number
    perSecond: number
    heapBytesPerRegistration?: number
    rssBytesPerRegistration?: number
    rssMiB?: number
  }
  node?: string
}

export interface ServerStats {
  /** CPU used since ready, in ms */
  cpuMs: number
  rssMiB: number
}

export class ServerProcess {
  readonly ready: ServerReady
  readonly target: Multiaddr
  private readonly child: JsonLinesChild

  private constructor (child: JsonLinesChild, ready: ServerReady) {
    this.child = child
    this.ready = ready
    this.target = multiaddr(ready.addrs[0])
  }

  /** Spawns `command args` and waits (at most `timeoutMs`) for its ready line */
  /** `env`: variables set for the server besides this process's own */
  static async start (command: string, args: string[], options: { cwd?: string, env?: Record<string, string>, timeoutMs: number }): Promise<ServerProcess> {
    const child = new JsonLinesChild('server', command, args, { cwd: options.cwd, env: options.env == null ? undefined : { ...process.env, ...options.env } })
    const cancel = child.killAfter(options.timeoutMs)
    try {
      return new ServerProcess(child, await child.next())
    } finally {
      cancel()
    }
  }

  async stats (): Promise<ServerStats> {
    return this.child.request('stats')
  }

  /** Heap and external memory after a full collection, and RSS, MiB (ours only) */
  async memory (): Promise<{ liveMiB: number, rssMiB: number }> {
    return this.child.request('memory')
  }

  /** Starts profiling the server's CPU (ours only: canvas's server does not answer this) */
  async profileStart (): Promise<void> {
    await this.command('profile-start')
  }

  /** Stops profiling and writes the profile to `file` */
  async profileStop (file: string): Promise<void> {
    await this.command(`profile-stop ${file}`)
  }

  private async command (line: string): Promise<void> {
    const { ok, error } = await this.child.request(line)
    if (ok !== true) {
      throw new Error(`${line}: ${error}`)
    }
  }

  async stop (): Promise<void> {
    await this.child.end('exit', 15_000)
  }
}
