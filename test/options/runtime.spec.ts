/**
 * libp2p v3 needs Node.js 22: on Node 20 it fails deep inside ("Promise.withResolvers is not a function" from a
 * queue, once the node runs). The factories and the command say "libp2p v3 needs Node.js >= 22" in one line
 * instead, checked once (issue 20, item 15). The check itself is a pure function; the last test runs the command
 * and the factories on a real Node.js older than 22 when this machine has one on its PATH (Debian's own node is 20).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'
import { build } from 'esbuild'
import { MIN_NODE_MAJOR, runtimeProblem } from '../../src/supported-runtime.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
// without the flags the test runner gives Node 22 (an older Node refuses --experimental-strip-types)
const { NODE_OPTIONS, ...OLDER_ENV } = process.env

/** A Node.js binary on the PATH older than libp2p v3 needs (not the one npm put first), with its version */
async function olderNode (): Promise<{ path: string, version: string } | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, 'node')

    if (dir === '' || dir.includes('node_modules') || !existsSync(path)) {
      continue
    }

    const version = (await run(path, ['--version'], { env: OLDER_ENV })).stdout.trim()

    if (Number(version.slice(1).split('.')[0]) < MIN_NODE_MAJOR) {
      return { path, version: version.slice(1) }
    }
  }
}

/** Runs `file` on `node`, resolving with its exit code and output whatever the code */
async function runOn (node: string, file: string, args: string[] = []): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(node, [file, ...args], { timeout: 30_000, env: OLDER_ENV })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

describe('the runtime libp2p v3 needs (issue 20, item 15)', function () {
  this.timeout(120_000)

  it('says in one line that Node.js before 22 cannot run libp2p v3, and nothing on 22 or later', () => {
    expect(runtimeProblem('20.19.2')).to.equal('libp2p v3 needs Node.js >= 22; this is Node.js 20.19.2')
    expect(runtimeProblem('18.0.0')).to.equal('libp2p v3 needs Node.js >= 22; this is Node.js 18.0.0')
    expect(runtimeProblem('22.0.0')).to.be.undefined()
    expect(runtimeProblem('24.1.0')).to.be.undefined()
    // elsewhere (a browser) by what libp2p v3 calls first
    expect(runtimeProblem(undefined, Promise)).to.be.undefined()
    const older = { resolve: Promise.resolve } as unknown as PromiseConstructor
    expect(runtimeProblem(undefined, older)).to.match(/^libp2p v3 needs Promise\.withResolvers \(Node\.js >= 22, .*\), which this runtime lacks$/)
  })

  it('on a real Node.js older than 22, the command and every factory say so in one line', async function () {
    const node = await olderNode()

    if (node == null) {
      // this machine has no older Node.js: the pure check above is all that can run
      this.skip()
    }

    const dir = await mkdtemp(join(tmpdir(), 'rdv-old-node-'))

    try {
      // the sources as one file Node 20 can run (it strips no types); the command's main.ts is never reached
      const factories = join(dir, 'factories.mjs')
      const entry = join(dir, 'entry.ts')
      await writeFile(entry, `
        import { memoryRegistrationStore, rendezvousClient, rendezvousDiscovery, rendezvousServer } from ${JSON.stringify(join(ROOT, 'src/index.ts'))}
        for (const [name, factory] of Object.entries({ rendezvousServer, rendezvousClient, rendezvousDiscovery, memoryRegistrationStore })) {
          try {
            factory()
            console.log(name + ': accepted')
          } catch (err) {
            console.log(name + ': ' + err.name + ': ' + err.message)
          }
        }
      `)
      await build({ entryPoints: [entry], outfile: factories, bundle: true, platform: 'node', format: 'esm', target: 'node18', logLevel: 'silent' })
      const bin = join(dir, 'bin.mjs')
      await build({ entryPoints: [join(ROOT, 'src/cli/bin.ts')], outfile: bin, bundle: true, platform: 'node', format: 'esm', target: 'node18', external: ['./main.ts'], logLevel: 'silent' })

      const command = await runOn(node.path, bin, ['--help'])
      expect(command).to.deep.equal({ code: 1, stdout: '', stderr: `rendezvous-server: libp2p v3 needs Node.js >= 22; this is Node.js ${node.version}\n` })

      const called = await runOn(node.path, factories)
      const expected = `UnsupportedRuntimeError: libp2p v3 needs Node.js >= 22; this is Node.js ${node.version}`
      expect(called.stdout.trim().split('\n')).to.deep.equal(['rendezvousServer', 'rendezvousClient', 'rendezvousDiscovery', 'memoryRegistrationStore'].map(name => `${name}: ${expected}`))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
