/**
 * Runs one measurement in a child process of the same Node, so that each gets its own CPU and memory figures
 * and nothing one leaves behind (timers, sockets, heap) weighs on the next. The child prints its result as the
 * last line of stdout, as JSON; stderr is passed through as progress.
 */
import { spawn } from 'node:child_process'

/**
 * Flags for every child: the package's generated protobuf code (protons) uses TypeScript enums and namespaces,
 * which Node's default type stripping refuses, so code that imports `src/` needs the transform mode (as aegir's
 * test runner uses)
 */
export const NODE_FLAGS = ['--experimental-transform-types', '--no-warnings=ExperimentalWarning']

export interface ChildOutcome<T> {
  result?: T
  /** Why there is no result: a crash, a non-zero exit or the time limit */
  error?: string
}

export async function runChild<T> (script: string, args: string[], timeoutMs: number, nodeFlags: string[] = []): Promise<ChildOutcome<T>> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    let timedOut = false
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => { stdout += chunk })

    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)

    child.on('close', (code) => {
      clearTimeout(timer)
      const last = stdout.trim().split('\n').pop() ?? ''
      if (timedOut) {
        resolve({ error: `killed after ${Math.round(timeoutMs / 1000)} s` })
        return
      }
      try {
        resolve({ result: JSON.parse(last) })
      } catch {
        resolve({ error: `exit code ${code}, no result${last === '' ? '' : `: ${last.slice(0, 200)}`}` })
      }
    })
  })
}

/** `--name value` and `--flag` arguments as a map (flags map to 'true') */
export function parseArgs (argv: string[]): Map<string, string> {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      continue
    }
    const next = argv[i + 1]
    if (next == null || next.startsWith('--')) {
      args.set(arg.slice(2), 'true')
    } else {
      args.set(arg.slice(2), next)
      i++
    }
  }
  return args
}
