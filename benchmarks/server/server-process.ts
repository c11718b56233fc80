/**
 * A rendezvous server in a process of its own (ours through serve.ts, or canvas's), driven over stdin/stdout:
 * one JSON line when ready, one JSON line per `stats` (and, ours only, `profile-start` / `profile-stop`) request,
 * `exit` to stop. The load generator stays in the
 * parent, so the server's CPU figures are its own.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ChildProcess } from 'node:child_process'

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
  private readonly child: ChildProcess
  private readonly lines: AsyncIterator<string>

  private constructor (child: ChildProcess, lines: AsyncIterator<string>, ready: ServerReady) {
    this.child = child
    this.lines = lines
    this.ready = ready
    this.target = multiaddr(ready.addrs[0])
  }

  /** Spawns `command args` and waits (at most `timeoutMs`) for its ready line */
  static async start (command: string, args: string[], options: { cwd?: string, timeoutMs: number }): Promise<ServerProcess> {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    try {
      const first = await lines.next()
      if (first.done === true) {
        throw new Error(`server exited before it was ready (exit code ${child.exitCode})`)
      }
      return new ServerProcess(child, lines, JSON.parse(first.value))
    } finally {
      clearTimeout(timer)
    }
  }

  async stats (): Promise<ServerStats> {
    this.child.stdin?.write('stats\n')
    const line = await this.lines.next()
    if (line.done === true) {
      throw new Error('server exited')
    }
    return JSON.parse(line.value)
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
    this.child.stdin?.write(`${line}\n`)
    const answer = await this.lines.next()
    if (answer.done === true) {
      throw new Error('server exited')
    }
    const { ok, error } = JSON.parse(answer.value)
    if (ok !== true) {
      throw new Error(`${line}: ${error}`)
    }
  }

  async stop (): Promise<void> {
    if (this.child.exitCode != null) {
      return
    }
    const closed = new Promise(resolve => this.child.once('close', resolve))
    this.child.stdin?.end('exit\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await closed
    clearTimeout(timer)
  }
}
