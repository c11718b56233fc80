/**
 * One error for bad options, whichever part they belong to: libp2p's `InvalidParametersError`, thrown when the
 * service is built, naming the factory, the option and the value it got.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { parseCli } from '../../src/cli/options.ts'
import { resolveClientConfig } from '../../src/client/config.ts'
import { CLIENT_DEFAULTS } from '../../src/defaults.ts'
import { resolveOptions } from '../../src/discovery/options.ts'
import { resolveServerConfig } from '../../src/server/config.ts'
import { MemoryRegistrationStore } from '../../src/server/store/memory-registration-store.ts'
import { PostgresRegistrationStore } from '../../src/server/store/postgres-store.ts'

/** The error `build` throws: an InvalidParametersError whose message holds every one of `parts` */
function refused (build: () => unknown, ...parts: string[]): void {
  let error: unknown

  try {
    build()
  } catch (err) {
    error = err
  }

  expect(error, parts.join(' ')).to.be.an.instanceOf(InvalidParametersError)
  for (const part of parts) {
    expect((error as Error).message).to.include(part)
  }
}

describe('one error for bad options', () => {
  it('the server names the option and the value', () => {
    refused(() => resolveServerConfig({ maxInboundStreams: 0 }), 'rendezvousServer', 'maxInboundStreams', '0')
    refused(() => resolveServerConfig({ ttlBelowMin: 'drop' as any }), 'rendezvousServer', 'ttlBelowMin', '"drop"')
  })

  it('the stores name the option and the value', () => {
    refused(() => new MemoryRegistrationStore({ maxBytes: -1 }), 'MemoryRegistrationStore', 'maxBytes', '-1')
    refused(() => new PostgresRegistrationStore({ url: '' }), 'postgresRegistrationStore', 'url', '""')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://localhost/db', schema: 'a b' }), 'schema', '"a b"')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://localhost/db', maxWaiting: 1.5 }), 'maxWaiting', '1.5')
  })

  it('the client applies its defaults and names a bad option and its value', () => {
    expect(resolveClientConfig()).to.deep.equal(CLIENT_DEFAULTS)
    expect(resolveClientConfig({ timeout: 500, reuseStreams: false })).to.include({ timeout: 500, reuseStreams: false, maxCookies: CLIENT_DEFAULTS.maxCookies })
    refused(() => resolveClientConfig({ timeout: -5 }), 'rendezvousClient', 'timeout', '-5')
    refused(() => resolveClientConfig({ timeout: 2 ** 31 }), 'timeout', String(2 ** 31))
    refused(() => resolveClientConfig({ maxResponseSize: Number.NaN }), 'maxResponseSize', 'NaN')
    refused(() => resolveClientConfig({ runOnLimitedConnection: 'yes' as any }), 'runOnLimitedConnection', '"yes"')
    refused(() => resolveClientConfig({ protocol: 'rendezvous' }), 'protocol', '"rendezvous"')
    refused(() => resolveClientConfig({ peerRecordFormat: 'new' as any }), 'peerRecordFormat', '"new"')
    refused(() => resolveClientConfig({ maxStreamsPerPoint: 0 }), 'maxStreamsPerPoint', '0')
    refused(() => resolveClientConfig({ streamIdleTimeout: 0.5 }), 'streamIdleTimeout', '0.5')
  })

  it('the discovery module names the option and the value', () => {
    refused(() => resolveOptions({ dialTimeout: -1 }), 'rendezvousDiscovery', 'dialTimeout', '-1')
    refused(() => resolveOptions({ points: [5 as any] }), 'rendezvousDiscovery', 'points[0]', '5')
  })

  it('the command refuses with the same error, naming the flag', () => {
    refused(() => parseCli(['--max-inbound-streams', '0'], {}, () => ''), 'max-inbound-streams')
  })

  it('the error carries libp2p\'s name, so code that checks names sees it too', () => {
    expect(() => resolveClientConfig({ maxCookies: 0 })).to.throw().with.property('name', 'InvalidParametersError')
  })
})
