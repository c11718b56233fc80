/**
 * The command's options for a network of points: `--peer-point` and `--admit-point`, repeatable, from a flag, the
 * environment (items separated by commas or whitespace) or the config file (`peerPoints`, `admitPoints`: arrays,
 * or one string of items), checked as the server checks them, with messages that name where the value came from.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { helpText } from '../../src/cli/help.ts'
import { parseCli } from '../../src/cli/parse-cli.ts'
import { UsageError } from '../../src/cli/usage-error.ts'
import type { CliConfig } from '../../src/cli/parse-cli.ts'

function run (argv: string[], env: Record<string, string> = {}, file?: unknown): CliConfig {
  const request = parseCli(argv, env, () => JSON.stringify(file))

  if (request.action !== 'run') {
    throw new Error(`expected to run, got ${request.action}`)
  }

  return request.config
}

function usageError (argv: string[], env: Record<string, string> = {}, file?: unknown): string {
  try {
    parseCli(argv, env, () => JSON.stringify(file))
  } catch (err: any) {
    expect(err).to.be.an.instanceOf(UsageError)
    return err.message
  }

  throw new Error(`expected ${JSON.stringify(argv)} to be refused`)
}

describe('rendezvous-server options for a network of points', () => {
  let ids: string[]
  let points: string[]

  before(async () => {
    ids = await Promise.all([1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    points = ids.map((id, i) => `/dns4/rdv${i}.example.com/tcp/4001/p2p/${id}`)
  })

  const addresses = (config: CliConfig): string[] => (config.server.peerPoints ?? []).map(String)

  it('takes --peer-point and --admit-point repeated, or with commas', () => {
    const config = run(['--peer-point', points[0], '--peer-point', `${points[1]},${points[2]}`, '--admit-point', ids[0], '--admit-point', `${ids[1]},${ids[2]}`])

    expect(addresses(config)).to.deep.equal(points)
    expect(config.server.admitPoints).to.deep.equal(ids)
    // nothing set, nothing in the server's options: a point in no network
    expect(run([]).server).to.not.have.any.keys('peerPoints', 'admitPoints')
  })

  it('reads RENDEZVOUS_PEER_POINT and RENDEZVOUS_ADMIT_POINT with items separated by commas, spaces or newlines', () => {
    const config = run([], {
      RENDEZVOUS_PEER_POINT: ` ${points[0]},${points[1]}\n  ${points[2]} `,
      RENDEZVOUS_ADMIT_POINT: `${ids[0]} ${ids[1]},\t${ids[2]}`
    })

    expect(addresses(config)).to.deep.equal(points)
    expect(config.server.admitPoints).to.deep.equal(ids)
    expect(run([], { RENDEZVOUS_ADMIT_POINT: 'any' }).server.admitPoints).to.equal('any')
  })

  it('reads peerPoints and admitPoints from the config file, as arrays or as one string, the flags winning', () => {
    expect(addresses(run(['--config', 'c.json'], {}, { peerPoints: points, admitPoints: ids }))).to.deep.equal(points)
    expect(run(['--config', 'c.json'], {}, { peerPoints: points.join(' '), admitPoints: ids.join(',') }).server.admitPoints).to.deep.equal(ids)
    expect(run(['--config', 'c.json'], {}, { admitPoints: 'any' }).server.admitPoints).to.equal('any')
    expect(addresses(run(['--config', 'c.json', '--peer-point', points[2]], {}, { peerPoints: points }))).to.deep.equal([points[2]])
    // the file's keys are the options' names, plural: peerPoint is not one
    expect(usageError(['--config', 'c.json'], {}, { peerPoint: points })).to.include('unknown option "peerPoint" (did you mean "peerPoints"?)')
  })

  it('takes --admit-point any alone, and refuses it beside peer ids', () => {
    expect(run(['--admit-point', 'any']).server.admitPoints).to.equal('any')
    expect(usageError(['--admit-point', 'any', '--admit-point', ids[0]])).to.equal(`--admit-point must be 'any', or an array of peer ids (strings); 'any' stands alone, got "any,${ids[0]}"`)
  })

  it('refuses a peer point without its peer id, and a peer id that is none, naming the flag, variable or key', () => {
    expect(usageError(['--peer-point', '/ip4/192.0.2.1/tcp/4001'])).to.equal('--peer-point must be a multiaddr (or its string) that ends with /p2p/<peer id>, got "/ip4/192.0.2.1/tcp/4001"')
    expect(usageError([], { RENDEZVOUS_PEER_POINT: 'rdv.example.com:4001' })).to.match(/^environment variable RENDEZVOUS_PEER_POINT must be a multiaddr \(or its string\) that ends with \/p2p\/<peer id> \(.+\), got "rdv\.example\.com:4001"$/)
    expect(usageError(['--admit-point', 'not-a-peer-id'])).to.match(/^--admit-point must be a peer id, e\.g\. 12D3KooW… \(.+\), got "not-a-peer-id"$/)
    expect(usageError(['--config', 'c.json'], {}, { admitPoints: [42] })).to.equal('"admitPoints" in c.json must be a peer id, e.g. 12D3KooW…, got 42')
    expect(usageError(['--max-learned-points', '-1'])).to.equal('--max-learned-points must be a whole number, 0 or more, got "-1"')
  })

  it('lists the flags in --help under "A network of points", with their variables', () => {
    const help = helpText()
    const section = help.slice(help.indexOf('A network of points:'))

    for (const flag of ['--peer-point <multiaddr>', '--admit-point <peer id>|any', '--max-learned-points <n>', '--point-discover-interval <ms>', 'env RENDEZVOUS_PEER_POINT', 'env RENDEZVOUS_ADMIT_POINT']) {
      expect(section.slice(0, section.indexOf('\n\n'))).to.include(flag)
    }
  })
})
