/**
 * What a user installs, before and after: `npm run bench:package` packs this working tree and an earlier commit
 * (default d211f90^, the last one with libp2p, the transports, Prometheus and postgres as plain dependencies),
 * installs each tarball in fresh projects the two ways a user does, and bundles the discovery module for a browser:
 *
 * - a node or browser app: `npm install <package> libp2p` (the README's install line)
 * - the `rendezvous-server` command: that plus every optional peer (the line docs/deployment.md gives)
 * - `export { rendezvousDiscovery }` bundled by esbuild for the browser, minified, and gzipped; and what it adds to
 * a bundle of `createLibp2p` (most of its bytes are libp2p's own packages, which a browser node has anyway)
 *
 * The earlier commit is taken with `git archive`, built with this repository's node_modules and packed without
 * scripts. Prints a table and writes benchmarks/results/package-size.json. `--after-only` skips the earlier commit.
 * Needs the npm cache or the registry; about four minutes on 2 cores.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { print, progress } from '../lib/print.ts'
import { formatTable } from '../lib/table.ts'
import { browserBundle, DISCOVERY_SOURCE, installed, LIBP2P_SOURCE, pack, succeed } from './measure.ts'
import type { Installed } from './measure.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const RESULTS = join(ROOT, 'benchmarks/results/package-size.json')
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const BEFORE = 'd211f90^'

interface Measured {
  label: string
  commit: string
  tarballFiles: number
  tarballBytes: number
  /** Files of the benchmarks, examples and tests in it: none belong in a package */
  tarballNotLibrary: number
  app: Installed
  command: Installed
  /** Bytes of each bundle, minified and gzipped */
  bundles: Record<'discovery' | 'libp2p' | 'libp2pAndDiscovery', { minified: number, gzipped: number }>
}

const args = process.argv.slice(2)
const beforeRef = args.find(arg => arg.startsWith('--before='))?.slice('--before='.length) ?? BEFORE
const afterOnly = args.includes('--after-only')
const workdir = mkdtempSync(join(tmpdir(), 'rendezvous-package-size-'))

/** The tarball of an earlier commit: its tree, built with this repository's packages, packed as it was */
async function packCommit (commit: string): Promise<string> {
  const dir = join(workdir, `src-${commit.slice(0, 7)}`)
  mkdirSync(dir)
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${commit}" | tar -x -C "${dir}"`])
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  progress(`building ${commit.slice(0, 7)}`)
  await succeed('npm', ['run', 'build'], dir, 600_000)
  return pack(dir, workdir, false)
}

/** Installs `packages` (the tarball among them) into a new project named `name`; its node_modules measured */
async function install (name: string, packages: string[]): Promise<Installed> {
  const project = join(workdir, name)
  mkdirSync(project)
  await succeed('npm', ['init', '-y'], project)
  await succeed('npm', ['install', ...packages], project)
  return installed(project)
}

async function measure (label: string, commit: string, tarball: string): Promise<Measured> {
  const slug = commit.slice(0, 7)
  const files = (await succeed('tar', ['tzf', tarball], workdir)).split('\n').filter(Boolean)
  progress(`${label}: installing for an app`)
  const app = await install(`app-${slug}`, [tarball, 'libp2p'])
  progress(`${label}: bundling the discovery module`)
  const bundle = async (source: string): Promise<{ minified: number, gzipped: number }> => {
    const { minified, gzipped } = await browserBundle(join(workdir, `app-${slug}`), source)
    return { minified, gzipped }
  }
  const bundles = {
    discovery: await bundle(DISCOVERY_SOURCE),
    libp2p: await bundle(LIBP2P_SOURCE),
    libp2pAndDiscovery: await bundle(`${LIBP2P_SOURCE}\n${DISCOVERY_SOURCE}`)
  }
  progress(`${label}: installing for the command`)
  // the same packages for both commits: after the change they are the optional peers, before it they were dependencies
  const command = await install(`command-${slug}`, [tarball, ...Object.keys(PACKAGE.peerDependencies)])
  return {
    label,
    commit,
    tarballFiles: files.length,
    tarballBytes: Number(execFileSync('stat', ['-c', '%s', tarball]).toString()),
    tarballNotLibrary: files.filter(file => /^package\/(dist\/)?(benchmarks|examples|test)\//.test(file)).length,
    app,
    command,
    bundles
  }
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`

try {
  const results: Measured[] = []

  if (!afterOnly) {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', beforeRef]).toString().trim()
    results.push(await measure(`before (${beforeRef})`, commit, await packCommit(commit)))
  }

  progress('packing the working tree')
  const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).toString().trim()
  results.push(await measure('now (working tree)', head, await pack(ROOT, workdir)))

  print(formatTable(
    ['package', 'tarball', 'app install (package + libp2p)', 'command install (+ optional peers)', 'rendezvousDiscovery bundle (min / gzip)', 'added to createLibp2p (min / gzip)'],
    results.map(r => [
      `${r.label} ${r.commit.slice(0, 7)}`,
      `${r.tarballFiles} files (${r.tarballNotLibrary} not library), ${kib(r.tarballBytes)}`,
      `${r.app.packages} packages, ${mb(r.app.bytes)}`,
      `${r.command.packages} packages, ${mb(r.command.bytes)}`,
      `${kib(r.bundles.discovery.minified)} / ${kib(r.bundles.discovery.gzipped)}`,
      `${kib(r.bundles.libp2pAndDiscovery.minified - r.bundles.libp2p.minified)} / ${kib(r.bundles.libp2pAndDiscovery.gzipped - r.bundles.libp2p.gzipped)}`
    ])
  ))
  writeFileSync(RESULTS, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`)
  print(`\nwritten to ${RESULTS}`)
} finally {
  rmSync(workdir, { recursive: true, force: true })
}
