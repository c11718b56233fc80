/**
 * A process of the benchmarks' own driven over stdin/stdout, one JSON line per answer: a server (server-process.ts)
 * or a store load (server/store-load.ts) prints a line when ready, answers each command line with one line, and
 * stops when stdin closes (after a last command, if it wants one). stderr is passed through as progress.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export class JsonLinesChild {
  readonly child: ChildProcess
  private readonly name: string
  private readonly lines: AsyncIterator<string>
  private readonly closed: Promise<unknown>

  /** Spawns `command args`; `name` says which process in the errors */
  constructor (name: string, command: string, args: string[], options: { cwd?: string } = {}) {
    this.name = name
    this.child = spawn(command, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'inherit'] })
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]()
    this.closed = new Promise(resolve => this.child.once('close', resolve))
  }

  /** The next line, parsed; throws when the process has ended instead */
  async next<T = any> (): Promise<T> {
    const line = await this.lines.next()
    if (line.done === true) {
      throw new Error(`${this.name} exited (exit code ${this.child.exitCode})`)
    }
    return JSON.parse(line.value)
  }

  /** Writes `command` as a line and resolves with the line that answers it */
  async request<T = any> (command: string): Promise<T> {
    this.child.stdin?.write(`${command}\n`)
    return this.next()
  }

  /** Kills the process if it still runs after `ms`; the function returned calls that off */
  killAfter (ms: number): () => void {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms)
    return () => { clearTimeout(timer) }
  }

  /** Closes its stdin (after `lastLine`, if given) and waits until it has ended, killing it after `killAfterMs` */
  async end (lastLine?: string, killAfterMs?: number): Promise<void> {
    if (this.child.exitCode != null || this.child.signalCode != null) {
      return
    }
    this.child.stdin?.end(lastLine == null ? undefined : `${lastLine}\n`)
    const cancel = killAfterMs == null ? undefined : this.killAfter(killAfterMs)
    await this.closed
    cancel?.()
  }
}
