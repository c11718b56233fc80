/**
 * The package as a user gets it: `npm pack` (which builds first), then a fresh project outside the repository that
 * installs the tarball with the README's own install lines (the other packages from the npm cache that this
 * repository's `npm ci` filled, the registry only for what it lacks; RENDEZVOUS_NPM_OFFLINE=1 never asks it),
 * compiles the quick starts with the README's tsconfig and runs them: the point prints its address, three nodes find
 * each other on their topic through it without a warning, the client registers and discovers, a node stopped with
 * SIGTERM unregisters and the others' "topic peers" line drops it. The `rendezvous-server` command installed the
 * same way names the packages it is missing, then runs once they are there. Along the way it prints what a user
 * installs (packages, bytes) and what the discovery module weighs in a browser bundle, and checks that the server's
 * code and packages stay out of both.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { browserBundle, DISCOVERY_SOURCE, installed, run, succeed } from '../../benchmarks/package-size/measure.ts'
import { rendezvousClient } from '../../src/client/index.ts'
import { STATE_GRACE } from '../../src/discovery/state/setup-checks.ts'
import { createTestNode } from '../fixtures/memory-node.ts'
import { ROOT, packedTarball } from './fixtures/packed.ts'
import { Running, consoleCommands } from './fixtures/running.ts'

const QUICK_START = join(ROOT, 'examples/quick-start')
const QUICK_START_FILES = ['tsconfig.json', 'point.ts', 'node.ts', 'client.ts']
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const NODES = 3
/** What every warning of the discovery module starts with, when printed (src/discovery/warnings.ts) */
const WARNING_PREFIX = 'libp2p-rendezvous-discovery:'

/** The peers a rendezvous point lists under `ns`, asked by a client of this repository */
async function listedAt (point: string, ns: string): Promise<string[]> {
  const node = await createTestNode({
    addresses: { listen: [] },
    transports: [tcp()],
    services: { rendezvous: rendezvousClient() }
  })

  try {
    const { registrations } = await node.services.rendezvous.discover(multiaddr(point), ns, { signal: AbortSignal.timeout(10_000) })
    return registrations.map(r => r.peerId.toString())
  } finally {
    await node.stop()
  }
}

/** The `$ npm …` lines of the README section `heading`, as run in a shell */
function readmeCommands (heading: string): string[] {
  return consoleCommands(README, heading).filter(command => command.startsWith('npm '))
}

function report (line: string): void {
  // eslint-disable-next-line no-console
  console.log(`      [package] ${line}`)
}

describe('the packed package in a fresh project', function () {
  this.timeout(15 * 60_000)

  let workdir: string
  let tarball: string
  let project: string
  const running: Running[] = []

  before(async function () {
    this.timeout(5 * 60_000)
    workdir = mkdtempSync(join(tmpdir(), 'rendezvous-tarball-'))
    // prepack builds dist/ first, so the tarball holds what the sources say
    tarball = await packedTarball()
    project = join(workdir, 'project')
  })

  after(async () => {
    await Promise.allSettled(running.map(async process => process.stop('SIGKILL', 5_000)))
    if (workdir != null) {
      rmSync(workdir, { recursive: true, force: true })
    }
  })

  it('holds the library, its docs and its licences, not the benchmarks, examples or tests', async () => {
    const listing = await succeed('tar', ['tzf', tarball], workdir)
    const files = listing.split('\n').filter(Boolean).map(file => file.replace(/^package\//, ''))

    expect(files).to.include.members(['package.json', 'README.md', 'LICENSE', 'LICENSE-APACHE', 'LICENSE-MIT',
      'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/bin.js', 'dist/src/server/store/postgres-store.js',
      'docs/deployment.md', 'docs/configuration.md'])
    expect(files.filter(file => /^(dist\/(benchmarks|examples|test)|benchmarks|examples|test)\//.test(file))).to.deep.equal([])
    expect(files.filter(file => file.endsWith('.tsbuildinfo'))).to.deep.equal([])
    report(`tarball: ${files.length} files, ${(statSync(tarball).size / 1024).toFixed(0)} KiB`)
  })

  it('installs with the README\'s install line without the server\'s packages', async () => {
    const [install] = readmeCommands('Install')
    expect(install).to.match(/^npm install libp2p-rendezvous-discovery /)

    mkdirSync(project)
    await succeed('npm', ['init', '-y'], project)
    await succeed('sh', ['-c', install.replace('libp2p-rendezvous-discovery', tarball)], project)

    const optional = Object.keys(PACKAGE.peerDependenciesMeta)
    const present = optional.filter(name => statSync(join(project, 'node_modules', name), { throwIfNoEntry: false }) != null)
    expect(present).to.deep.equal([])

    const { packages, bytes } = installed(project)
    report(`npm install libp2p-rendezvous-discovery libp2p: ${packages} packages, ${(bytes / 1e6).toFixed(1)} MB`)
  })

  it('gives the discovery module to a browser bundle without the server or the command', async () => {
    const bundle = await browserBundle(project, DISCOVERY_SOURCE)
    const inputs = bundle.inputs
    const ours = inputs.filter(input => input.includes('node_modules/libp2p-rendezvous-discovery/'))

    expect(ours.some(input => input.includes('/dist/src/discovery/'))).to.be.true()
    expect(ours.filter(input => /\/dist\/src\/(server|cli)\//.test(input))).to.deep.equal([])
    expect(inputs.filter(input => /node_modules\/(postgres|prom-client)\//.test(input))).to.deep.equal([])
    report(`browser bundle of rendezvousDiscovery (esbuild, minified): ${(bundle.minified / 1024).toFixed(1)} KiB, ${(bundle.gzipped / 1024).toFixed(1)} KiB gzipped`)
  })

  it('compiles the quick starts as the README gives them, with its tsconfig', async () => {
    for (const file of QUICK_START_FILES) {
      // the README leaves out the lint directive
      const source = readFileSync(join(QUICK_START, file), 'utf8').replace(/^\/\* eslint-disable .*\*\/\n/m, '').trimEnd()
      expect(README.includes(`\n${source}\n\`\`\``), `the README shows ${file} as it is in examples/quick-start`).to.be.true()
      copyFileSync(join(QUICK_START, file), join(project, file))
    }

    const commands = readmeCommands('Quick start')
    expect(commands[0]).to.equal('npm init -y && npm pkg set type=module')
    for (const command of commands) {
      await succeed('sh', ['-c', command.replace(/(npm install )libp2p-rendezvous-discovery /, `$1${tarball} `)], project)
    }
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).type).to.equal('module')

    await succeed('npx', ['tsc'], project)
    const { packages, bytes } = installed(project)
    report(`quick start project (libp2p, tcp, noise, yamux, identify, gossipsub, typescript): ${packages} packages, ${(bytes / 1e6).toFixed(1)} MB`)
  })

  it('runs them: the point prints its address, the nodes find each other without a warning, the client registers and discovers, and a node stopped with SIGTERM unregisters and leaves the others\' topic peers', async () => {
    const point = new Running('node', ['dist/point.js'], project)
    running.push(point)
    const address = await point.line(line => /^rendezvous point: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)$/.exec(line)?.[1], 30_000)

    const started = Date.now()
    const nodes = Array.from({ length: NODES }, () => new Running('node', ['dist/node.js', address], project))
    running.push(...nodes)
    const ids = await Promise.all(nodes.map(async node => node.line(line => /^node (\w+) listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/.exec(line)?.[1], 30_000)))

    // each node ends up connected to every other one on the topic
    await Promise.all(nodes.map(async (node, index) => {
      const others = ids.filter((_, other) => other !== index).sort().join(', ')
      await node.line(line => line === `topic peers: ${others}` ? true : undefined, 60_000)
    }))

    const client = await run('node', ['dist/client.js', address], project, 60_000)
    expect(client.code, client.stderr).to.equal(0)
    expect(client.stdout).to.match(/^registered under my-app for 7200 s$/m)
    expect(client.stdout).to.match(/^found \w+ at \/ip4\/127\.0\.0\.1\/tcp\/\d+/m)

    // nodes on the point's own network need no relay: no warning, even after the module judged its state
    await delay(Math.max(0, started + STATE_GRACE + 1000 - Date.now()))
    expect([point, ...nodes].flatMap(process => process.lines).filter(line => line.startsWith(WARNING_PREFIX))).to.deep.equal([])

    // SIGTERM (kill, a service manager) stops a node as Ctrl-C does: it unregisters, and the others drop it
    const [leaving, ...staying] = nodes
    expect(await leaving.stop('SIGTERM', 15_000)).to.equal(0)
    expect((await listedAt(address, 'floodsub:news')).sort()).to.deep.equal(ids.slice(1).sort(), 'registered after SIGTERM')
    await Promise.all(staying.map(async (node, index) => {
      const other = ids[index === 0 ? 2 : 1]
      await node.line(line => line === `topic peers: ${other}` ? true : undefined, 30_000)
    }))

    // Ctrl-C stops them cleanly
    for (const node of staying) {
      expect(await node.stop('SIGINT', 15_000)).to.equal(0)
    }
    expect(await point.stop('SIGTERM', 15_000)).to.equal(0)
  })

  it('runs rendezvous-server once the packages it names are installed', async () => {
    const identity = join(workdir, 'identity.key')
    const args = ['rendezvous-server', '--listen', '/ip4/127.0.0.1/tcp/0', '--identity', identity]

    const missing = await run('npx', args, project, 60_000)
    expect(missing.code).to.equal(1)
    const install = /: (npm install .*)$/m.exec(missing.stderr)?.[1]
    expect(install, missing.stderr).to.be.a('string')
    const named = install?.split(' ').slice(2) ?? []
    expect(named).to.have.members(Object.keys(PACKAGE.peerDependencies))

    await succeed('sh', ['-c', install ?? ''], project)

    // the installed bin itself rather than npx, so that the signal reaches the server
    const server = new Running(join(project, 'node_modules/.bin/rendezvous-server'), args.slice(1), project)
    running.push(server)
    await server.line(line => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+$/.test(line) ? true : undefined, 60_000)
    expect(await server.stop('SIGTERM', 30_000)).to.equal(0)
  })

  it('documents the same install line for the command as the command prints', () => {
    const deployment = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8')
    const line = /^\$ (npm install libp2p-rendezvous-discovery .*)$/m.exec(deployment)?.[1]
    expect(line?.split(' ').slice(3)).to.have.members(Object.keys(PACKAGE.peerDependencies))
  })
})
