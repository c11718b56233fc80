/**
 * How much of the machine's CPU the processes of a real run can have now: as many busy loops as the machine has
 * cores, each in a process of its own for a second, each reporting the CPU time it got. On an idle 2-core machine
 * that is 2 cores; other work (another helper's build, say) leaves less. The simulator shares this many cores among
 * the run's processes (model/machine.ts).
 */
import { spawn } from 'node:child_process'
import { cpus } from 'node:os'

const LOOP = 'const s = process.cpuUsage(); const t = performance.now(); let x = 0; while (performance.now() - t < Number(process.argv[1])) { x = (x + Math.sqrt(x + 1)) % 1e9 } const u = process.cpuUsage(s); process.stdout.write(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, wallMs: performance.now() - t }))'

async function busyLoop (ms: number): Promise<{ cpuMs: number, wallMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOOP, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, ms + 10_000)
    child.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(out))
      } catch {
        reject(new Error(`capacity probe gave no result: ${out.slice(0, 200)}`))
      }
    })
  })
}

/** Cores the machine gives to `cores` busy processes at once over `ms` (the sum of their CPU over wall time) */
export async function probeCapacity (ms = 1000, cores = cpus().length): Promise<number> {
  const loops = await Promise.all(Array.from({ length: cores }, async () => busyLoop(ms)))
  return loops.reduce((sum, loop) => sum + loop.cpuMs / loop.wallMs, 0)
}
