/**
 * A process driven over stdin/stdout, one JSON line per answer: a server of the benchmarks (server-process.ts) or
 * a store load (server/store-load.ts) prints a line when ready, answers each command line with one line, and
 * stops when stdin closes (after a last command, if it wants one). stderr is passed through as progress.
 *
 * The test harness of hosts in network namespaces (test/fixtures/hosts/) runs its processes on the same class: it
 * reads raw lines (`nextLine`, since not every program it runs prints JSON only), starts each in a process group
 * of its own (`processGroup`, so that a kill reaches what it started) and keeps stderr for its error messages.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export interface JsonLinesChildOptions {
  cwd?: string
  /** The child's environment (default: this process's) */
  env?: NodeJS.ProcessEnv
  /**
   * Start the child as the leader of a process group of its own, and send `kill`'s signals to the whole group, so
   * that nothing it started outlives it (default false: one process, in this process's group)
   */
  processGroup?: boolean
  /** What becomes of the child's stderr: passed through (default), left to the caller on `child.stderr`, or dropped */
  stderr?: 'inherit' | 'pipe' | 'ignore'
}

export class JsonLinesChild {
  readonly child: ChildProcess
  /** Resolves once the process has ended and its stdout and stderr are closed */
  readonly closed: Promise<unknown>
  private readonly name: string
  private readonly lines: AsyncIterator<string>
  private readonly processGroup: boolean

  /** Spawns `command args`; `name` says which process in the errors */
  constructor (name: string, command: string, args: string[], options: JsonLinesChildOptions = {}) {
    this.name = name
    this.processGroup = options.processGroup === true
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: this.processGroup,
      stdio: ['pipe', 'pipe', options.stderr ?? 'inherit']
    })
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]()
    this.closed = new Promise(resolve => this.child.once('close', resolve))
  }

  /** True until the process has exited */
  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  /** The next line as printed; throws when the process has ended instead */
  async nextLine (): Promise<string> {
    const line = await this.lines.next()
    if (line.done === true) {
      throw new Error(`${this.name} exited (exit code ${this.child.exitCode})`)
    }
    return line.value
  }

  /** The next line, parsed; throws when the process has ended instead */
  async next<T = any> (): Promise<T> {
    return JSON.parse(await this.nextLine())
  }

  /** Writes a line to the child's stdin */
  write (line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  /** Writes `command` as a line and resolves with the line that answers it */
  async request<T = any> (command: string): Promise<T> {
    this.write(command)
    return this.next()
  }

  /** Sends `signal` to the process, or to its whole group when it leads one; a process already gone is no error */
  kill (signal: NodeJS.Signals = 'SIGTERM'): void {
    const pid = this.child.pid
    if (this.processGroup && pid != null) {
      try {
        process.kill(-pid, signal)
      } catch {
        // the group is gone: every process in it has ended
      }
      return
    }
    this.child.kill(signal)
  }

  /** Kills the process if it still runs after `ms`; the function returned calls that off */
  killAfter (ms: number): () => void {
    const timer = setTimeout(() => { this.kill('SIGKILL') }, ms)
    return () => { clearTimeout(timer) }
  }

  /** Closes its stdin (after `lastLine`, if given) and waits until it has ended, killing it after `killAfterMs` */
  async end (lastLine?: string, killAfterMs?: number): Promise<void> {
    if (!this.running) {
      return
    }
    this.child.stdin?.end(lastLine == null ? undefined : `${lastLine}\n`)
    const cancel = killAfterMs == null ? undefined : this.killAfter(killAfterMs)
    await this.closed
    cancel?.()
  }
}
