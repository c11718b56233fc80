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
