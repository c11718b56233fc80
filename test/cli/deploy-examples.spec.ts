import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { parseCli } from '../../src/cli/parse-cli.ts'
import type { CliConfig } from '../../src/cli/parse-cli.ts'

const DEPLOY = fileURLToPath(new URL('../../examples/deploy/', import.meta.url))

function run (argv: string[], env: Record<string, string> = {}): CliConfig {
  const request = parseCli(argv, env, path => readFileSync(path, 'utf8'))

  if (request.action !== 'run') {
    throw new Error(`expected to run, got ${request.action}`)
  }
  return request.config
}

/** KEY=VALUE lines of an EnvironmentFile, comments and blank lines skipped */
function envFile (path: string): Record<string, string> {
  return Object.fromEntries(readFileSync(path, 'utf8').split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !line.startsWith('#'))
    .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
}

describe('deployment examples', () => {
  it('the example config file is accepted as it stands', () => {
    const config = run(['--config', `${DEPLOY}config.example.json`])

    expect(config.store).to.include({ kind: 'postgres', schema: 'public' })
    expect(config.relay).to.be.true()
    expect(config.metrics).to.deep.equal({ host: '0.0.0.0', port: 9464 })
    expect(config.server).to.include({ maxRegistrationsPerPeer: 100 })
    expect(config.announce).to.have.lengthOf(2)
  })

  it('the example environment file for the systemd unit is accepted as it stands', () => {
    const env = envFile(`${DEPLOY}rendezvous-server.env`)
    expect(Object.keys(env).every(key => key.startsWith('RENDEZVOUS_'))).to.be.true()

    const config = run([], env)
    expect(config.listen).to.deep.equal(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
    expect(config.store).to.deep.equal({ kind: 'memory' })
    expect(config.logLevel).to.equal('info')
  })

  /** What a community point must have to join a network: peer points, the list admitting them, a public address */
  function expectCommunityPoint (config: CliConfig): void {
    const peers = (config.server.peerPoints ?? []).map(ma => String(ma))
    const admitted = config.server.admitPoints

    expect(peers).to.have.length.of.at.least(1)
    expect(admitted).to.be.an('array').with.length.of.at.least(peers.length)
    // a peer point is admitted anyway, but the network's list names every point, its peer points among them
    expect(peers.map(ma => ma.slice(ma.lastIndexOf('/p2p/') + 5)).every(id => (admitted as string[]).includes(id))).to.be.true()
    expect(config.announce.some(ma => ma.startsWith('/dns4/'))).to.be.true()
    expect(config.store).to.deep.equal({ kind: 'memory' })
  }

  it('the community point\'s environment file for the systemd unit joins a network as it stands', () => {
    const env = envFile(`${DEPLOY}community-point.env`)
    expect(Object.keys(env).every(key => key.startsWith('RENDEZVOUS_'))).to.be.true()

    const config = run([], env)
    expectCommunityPoint(config)
    expect(config.logLevel).to.equal('info')
  })

  it('the community point\'s compose file builds the image and joins a network with variables the command takes', () => {
    const compose = readFileSync(`${DEPLOY}community-point.compose.yaml`, 'utf8')
    const containerfile = readFileSync(`${DEPLOY}Containerfile`, 'utf8')

    expect(compose).to.include('dockerfile: examples/deploy/Containerfile')
    // the image's own settings, then the service's environment over them
    const settings = containerfile.split('\n').filter(line => !line.trimStart().startsWith('#')).join('\n')
    const image = Object.fromEntries([...settings.matchAll(/(RENDEZVOUS_[A-Z_]+)=(\S+)/g)].map(([, key, value]) => [key, value.replace(/\\$/, '')]))
    const service = Object.fromEntries([...compose.matchAll(/^\s+(RENDEZVOUS_[A-Z_]+): (\S+)$/gm)].map(([, key, value]) => [key, value]))
    expect(Object.keys(service)).to.include.members(['RENDEZVOUS_PEER_POINT', 'RENDEZVOUS_ADMIT_POINT', 'RENDEZVOUS_ANNOUNCE'])

    const config = run([], { ...image, ...service })
    expectCommunityPoint(config)
    expect(config.identityFile).to.equal('/data/identity.key')
  })

  it('the container image and the systemd unit run the built command with variables it knows', () => {
    const containerfile = readFileSync(`${DEPLOY}Containerfile`, 'utf8')
    const unit = readFileSync(`${DEPLOY}rendezvous-server.service`, 'utf8')
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'))

    expect(containerfile).to.include(`"node_modules/libp2p-rendezvous-discovery/${pkg.bin['rendezvous-server']}"`)
    expect(unit).to.include(`libp2p-rendezvous-discovery/${pkg.bin['rendezvous-server']}`)

    const variables = [...`${containerfile}\n${unit}`.matchAll(/(RENDEZVOUS_[A-Z_]+)=(\S+)/g)]
    expect(variables).to.not.be.empty()
    const config = run([], Object.fromEntries(variables.map(([, key, value]) => [key, value.replace(/\\$/, '').replace('%S', '/var/lib')])))
    expect(config.identityFile).to.match(/identity\.key$/)
  })
})
