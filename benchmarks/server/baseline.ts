/**
 * "Today" in the same run: the server's source as it was at an earlier commit, taken from git into a temporary
 * directory (`<tmp>/rendezvous-bench-baseline/<commit>/src`, outside the checkout so that lint and the type check
 * never see it), so that serve.ts can run it beside the current code on the same machine, under the same load, in
 * the same minutes. A `node_modules` link there makes its imports resolve to this checkout's packages.
 *
 * The default is the commit before the throughput work of issue 13: one request per stream, every record's
 * signature checked, and a PostgreSQL store that serialised writers under a fleet-wide advisory lock.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readlink, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** main before issue 13 (and the server's stream loop of the interop work) */
export const BASELINE_COMMIT = '4df4a23'

/** main before issue 20's server items: the "today" of shapes.ts and stalled-readers.ts */
export const ISSUE_20_BASELINE = '64a088f'

const repo = fileURLToPath(new URL('../../', import.meta.url))

export interface Baseline {
  commit: string
  /** The `src/` directory to give serve.ts with --src */
  src: string
}

/** The baseline's `src/`, extracted once per commit; `{ skipped }` with the reason when git cannot give it */
export async function baselineSource (commit: string = BASELINE_COMMIT): Promise<Baseline | { skipped: string }> {
  const dir = join(tmpdir(), 'rendezvous-bench-baseline', commit)
  const src = join(dir, 'src')
  const modules = join(repo, 'node_modules')
  const link = join(dir, 'node_modules')

  if (existsSync(`${src}/server/index.ts`)) {
    // the extraction outlives the checkout that made it (another clone, a removed worktree): its packages link must
    // lead to this checkout's, or every import of the baseline fails
    if (await readlink(link).catch(() => undefined) !== modules) {
      await rm(link, { force: true })
      await symlink(modules, link, 'dir')
    }
    return { commit, src }
  }

  try {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    // git archive | tar, without a shell: the archive goes through a buffer (src/ is a few hundred KB)
    const { stdout } = await run('git', ['-C', repo, 'archive', '--format=tar', commit, 'src'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })
    await new Promise<void>((resolve, reject) => {
      const tar = execFile('tar', ['-x', '-C', dir], err => { err == null ? resolve() : reject(err) })
      tar.stdin?.end(stdout)
    })
    await symlink(modules, link, 'dir')
    return { commit, src }
  } catch (err: any) {
    await rm(dir, { recursive: true, force: true }).catch(() => {})
    return { skipped: `the baseline source of commit ${commit} could not be taken from git: ${err.message}` }
  }
}
