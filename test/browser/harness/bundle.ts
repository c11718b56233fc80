/**
 * Bundling browser-side code with esbuild, in memory. `platform: 'browser'` makes esbuild honour each package's
 * `browser` field and refuse Node built-ins, so a successful bundle is also proof that nothing Node-only slipped
 * into it.
 */

import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Metafile } from 'esbuild'

/** The repository root, for resolving entry points */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface BrowserBundle {
  /** The ES module's source */
  code: string
  /** Size of the bundle, in bytes */
  bytes: number
  /** Every input file esbuild read */
  inputs: string[]
  /** Time esbuild took, in ms */
  ms: number
  /** esbuild's description of inputs and outputs */
  metafile: Metafile
}

const NODE_BUILTINS = new Set(builtinModules.flatMap(name => [name, `node:${name}`]))

export interface BundleOptions {
  /** Minify the output. Default: false */
  minify?: boolean
  /** Bundle this TypeScript source instead of the entry file (imports resolve from the repository root) */
  contents?: string
}

/** Bundles `entry` (a path relative to the repository root) as one browser ES module */
export async function bundleForBrowser (entry: string, options: BundleOptions = {}): Promise<BrowserBundle> {
  const started = performance.now()
  const result = await build({
    absWorkingDir: ROOT,
    ...(options.contents == null
      ? { entryPoints: [entry] }
      : { stdin: { contents: options.contents, resolveDir: ROOT, sourcefile: entry, loader: 'ts' } }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    minify: options.minify ?? false,
    logLevel: 'silent'
  })
  const code = result.outputFiles[0].text
  return {
    code,
    bytes: result.outputFiles[0].contents.byteLength,
    inputs: Object.keys(result.metafile.inputs),
    ms: Math.round(performance.now() - started),
    metafile: result.metafile
  }
}

/** The Node built-ins a metafile's inputs import (esbuild only lets them through when marked external) */
export function nodeBuiltinImports (metafile: Metafile): string[] {
  const found = new Set<string>()
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (NODE_BUILTINS.has(imported.path)) {
        found.add(imported.path)
      }
    }
  }
  return [...found]
}

/** Bundles once per process and entry: the e2e specs share one build */
const cache = new Map<string, Promise<BrowserBundle>>()

export async function cachedBundle (entry: string): Promise<BrowserBundle> {
  let bundle = cache.get(entry)
  if (bundle == null) {
    bundle = bundleForBrowser(entry)
    cache.set(entry, bundle)
    bundle.catch(() => cache.delete(entry))
  }
  return bundle
}
