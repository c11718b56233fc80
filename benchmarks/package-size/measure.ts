/**
 * What a user of the package gets, measured the way a user gets it: the tarball `npm pack` makes, installed into a
 * fresh project outside the repository, and the discovery module bundled from that project for a browser. Used by
 * the package-size benchmark (before and after a change) and by test/package/tarball.spec.ts (which checks what
 * is in them and prints the same figures).
 *
 * Every npm command runs with `prefer-offline`: the tarballs of the packages this repository installed are in the
 * npm cache already (and their metadata after a first run), so a warm cache installs without the network
 * (`RENDEZVOUS_NPM_OFFLINE=1` forbids it outright), and a cold one still reaches the registry. Every command has a
 * time limit.
 */
import { execFile } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'

/** How long any one npm command may take (a cold cache downloads a few dozen packages) */
export const NPM_TIMEOUT_MS = 240_000

/**
 * The environment of the commands run in a fresh project. `npm run` sets npm_config_* for the scripts it runs: the
 * project's own npm commands must not inherit them (they would install into this repository's settings).
 */
export const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')))

const offline = process.env.RENDEZVOUS_NPM_OFFLINE === '1'

export const npmEnv: NodeJS.ProcessEnv = {
  ...cleanEnv,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  ...(offline ? { npm_config_offline: 'true' } : { npm_config_prefer_offline: 'true' })
}

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `command` to its end (or kills it after `timeout` ms) with the fresh project's environment */
export async function run (command: string, args: string[], cwd: string, timeout = NPM_TIMEOUT_MS): Promise<Run> {
  return new Promise(resolve => {
    execFile(command, args, { cwd, env: npmEnv, timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : err.code
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr })
    })
  })
}

/** Like `run`, but throws with the output when the command fails; resolves with its stdout */
export async function succeed (command: string, args: string[], cwd: string, timeout = NPM_TIMEOUT_MS): Promise<string> {
  const result = await run(command, args, cwd, timeout)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** `npm pack` of the package in `dir` into `destination` (its prepack script, if any, runs first); the tarball's path */
export async function pack (dir: string, destination: string, scripts = true): Promise<string> {
  const output = await succeed('npm', ['pack', '--json', '--pack-destination', destination, ...(scripts ? [] : ['--ignore-scripts'])], dir)
  // a build run by prepack prints first; the JSON comes last
  const [packed] = JSON.parse(output.slice(output.lastIndexOf('[\n  {')))
  return join(destination, packed.filename)
}

export interface Installed {
  /** Packages under node_modules, nested copies included */
  packages: number
  /** Bytes of their files on disk (file sizes, not blocks) */
  bytes: number
}

/** Every package installed under a project's node_modules (nested copies included) and their bytes */
export function installed (project: string): Installed {
  let packages = 0
  let bytes = 0
  const walk = (dir: string, inModules: boolean): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (inModules && !entry.name.startsWith('.') && !entry.name.startsWith('@')) {
          packages++
        }
        walk(path, entry.name === 'node_modules' || (inModules && entry.name.startsWith('@')))
      } else if (entry.isFile()) {
        bytes += statSync(path).size
      }
    }
  }
  walk(join(project, 'node_modules'), true)
  return { packages, bytes }
}

export interface Bundle {
  /** Bytes of the minified bundle */
  minified: number
  /** Bytes of it gzipped (level 9), roughly what a browser downloads */
  gzipped: number
  /** The files that put bytes into the bundle (esbuild's metafile lists tree-shaken ones too: they are left out) */
  inputs: string[]
}

/**
 * `source` (an ES module, e.g. `export { rendezvousDiscovery } from 'libp2p-rendezvous-discovery'`) bundled by
 * esbuild for a browser, minified, from the packages installed in `project`, as a web app that uses only those
 * exports would bundle it.
 */
export async function browserBundle (project: string, source: string): Promise<Bundle> {
  const result = await esbuild.build({
    stdin: { contents: source, resolveDir: project, loader: 'js' },
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent'
  })
  const code = result.outputFiles[0].contents
  const inputs = Object.values(result.metafile.outputs).flatMap(output => Object.entries(output.inputs))
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([input]) => input)
  return { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength, inputs }
}

/** The discovery module alone, as a browser app imports it */
export const DISCOVERY_SOURCE = "export { rendezvousDiscovery } from 'libp2p-rendezvous-discovery'"

/** libp2p alone: what any browser node bundles whether or not it uses this package */
export const LIBP2P_SOURCE = "export { createLibp2p } from 'libp2p'"
