/**
 * One error for bad options, whichever part they belong to: libp2p's `InvalidParametersError`, thrown when the
 * factory is called (not later, when libp2p builds the service), naming the factory, the option, what it must be,
 * and the value with its type. A key that is no option (a misspelt one) is refused the same way by every factory.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { parseCli } from '../../src/cli/parse-cli.ts'
import { CLIENT_DEFAULTS, resolveClientConfig } from '../../src/client/config.ts'
import { rendezvousClient } from '../../src/client/index.ts'
import { resolveOptions } from '../../src/discovery/config.ts'
import { rendezvousDiscovery } from '../../src/discovery/index.ts'
import { describeValue } from '../../src/options/invalid-option.ts'
import { resolveServerConfig } from '../../src/server/config.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { memoryRegistrationStore, MemoryRegistrationStore } from '../../src/server/store/memory-registration-store.ts'
import { postgresRegistrationStore, PostgresRegistrationStore } from '../../src/server/store/postgres-store.ts'

/** The message of the error `build` throws, which must be an InvalidParametersError */
function refusal (build: () => unknown): string {
  let error: unknown

  try {
    build()
  } catch (err) {
    error = err
  }

  expect(error).to.be.an.instanceOf(InvalidParametersError)
  return (error as Error).message
}

/** The error `build` throws: an InvalidParametersError whose message holds every one of `parts` */
function refused (build: () => unknown, ...parts: string[]): void {
  const message = refusal(build)

  for (const part of parts) {
    expect(message).to.include(part)
  }
}

describe('one error for bad options', () => {
  it('names the factory, the option, what it must be, and the value with its type', () => {
    expect(refusal(() => rendezvousServer({ maxTtl: '7200' as any }))).to.equal('rendezvousServer: option maxTtl must be a whole number of seconds from 1 to 259200, got the string "7200"')
    expect(refusal(() => rendezvousClient({ timeout: -5 }))).to.equal('rendezvousClient: option timeout must be a whole number of ms from 1 to 2147483647, got -5')
    expect(refusal(() => rendezvousDiscovery({ dialTimeout: -1 }))).to.equal('rendezvousDiscovery: option dialTimeout must be a number of ms above 0 and at most 2147483647, got -1')
    expect(refusal(() => memoryRegistrationStore({ maxBytes: 1.5 }))).to.equal('memoryRegistrationStore: option maxBytes must be a whole number of bytes, 1 or more, got 1.5')
    expect(refusal(() => postgresRegistrationStore({ url: 'postgres://db/x', maxWaiting: true as any }))).to.equal('postgresRegistrationStore: option maxWaiting must be a whole number, 1 or more, got true')
  })

  it('shows a value\'s type, so that a string, an array or an object cannot pass for a number', () => {
    expect(describeValue('7200')).to.equal('the string "7200"')
    expect(describeValue(7200)).to.equal('7200')
    expect(describeValue(Number.NaN)).to.equal('NaN')
    expect(describeValue([1])).to.equal('an array [1]')
    expect(describeValue({ a: 1 })).to.equal('an object {"a":1}')
    expect(describeValue(null)).to.equal('null')
    expect(describeValue(undefined)).to.equal('undefined')
    expect(describeValue(() => {})).to.equal('a function')
    expect(describeValue(5n)).to.equal('the bigint 5n')
  })

  it('refuses a misspelt option in every factory when it is called, suggesting the option meant (issue 20, item 14)', () => {
    expect(refusal(() => rendezvousServer({ maxTTL: 7200 } as any))).to.equal('rendezvousServer: option maxTTL does not exist (did you mean maxTtl?)')
    expect(refusal(() => rendezvousClient({ timout: 5000 } as any))).to.equal('rendezvousClient: option timout does not exist (did you mean timeout?)')
    expect(refusal(() => rendezvousDiscovery({ discoverintervall: 5 } as any))).to.equal('rendezvousDiscovery: option discoverintervall does not exist (did you mean discoverInterval?)')
    refused(() => memoryRegistrationStore({ maxbytes: 5 } as any), 'memoryRegistrationStore: option maxbytes does not exist (did you mean maxBytes?)')
    refused(() => postgresRegistrationStore({ url: 'postgres://db/x', schemaName: 'a' } as any), 'postgresRegistrationStore: option schemaName does not exist')
    // nothing close: the options are listed
    refused(() => rendezvousServer({ frobnicate: true } as any), 'option frobnicate does not exist (the options are store, minTtl, maxTtl')
    // inside the discovery module's client options too
    refused(() => rendezvousDiscovery({ clientInit: { timout: 5 } } as any), 'rendezvousDiscovery: option clientInit.timout does not exist (did you mean clientInit.timeout?)')
  })

  it('checks when the factory is called, before libp2p builds the service', () => {
    // nothing but the call: no node, no components
    expect(() => rendezvousServer({ maxInboundStreams: 0 })).to.throw(InvalidParametersError, /rendezvousServer: option maxInboundStreams/)
    expect(() => rendezvousClient({ maxStreamsPerPoint: 0 })).to.throw(InvalidParametersError, /rendezvousClient: option maxStreamsPerPoint/)
    expect(() => rendezvousDiscovery({ maxParallelDials: 0 })).to.throw(InvalidParametersError, /rendezvousDiscovery: option maxParallelDials/)
    expect(() => rendezvousServer({ store: {} as any })).to.throw(InvalidParametersError, /rendezvousServer: option store must be a RegistrationStore/)
    expect(rendezvousServer({ maxTtl: 7200, store: new MemoryRegistrationStore() })).to.be.a('function')
  })

  it('the server names the option and the value', () => {
    refused(() => resolveServerConfig({ maxInboundStreams: 0 }), 'rendezvousServer: option maxInboundStreams', 'got 0')
    refused(() => resolveServerConfig({ ttlBelowMin: 'drop' as any }), 'option ttlBelowMin must be \'clamp\' or \'reject\', got the string "drop"')
    refused(() => resolveServerConfig({ protocols: ['/a', 'b'] }), 'option protocols[1] must be a protocol id', 'the string "b"')
    refused(() => resolveServerConfig({ minTtl: 600, maxTtl: 60 }), 'option minTtl must be at most maxTtl (60), got 600')
  })

  it('the stores name the option and the value', () => {
    refused(() => new MemoryRegistrationStore({ maxBytes: -1 }), 'memoryRegistrationStore', 'maxBytes', '-1')
    refused(() => new PostgresRegistrationStore({ url: '' }), 'postgresRegistrationStore: option url must be a connection URL', 'the string ""')
    refused(() => new PostgresRegistrationStore(undefined as any), 'postgresRegistrationStore: option url must be a connection URL', 'got undefined')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://db:99999/x' }), 'port 99999 is not a port number')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://localhost/db', schema: 'a b' }), 'schema', '"a b"')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://localhost/db', maxWaiting: 1.5 }), 'maxWaiting', '1.5')
    refused(() => new PostgresRegistrationStore({ url: 'postgres://localhost/db', sessionSettings: { work_mem: 8 } as any }), 'sessionSettings', '{"work_mem":8}')
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
    refused(() => parseCli(['--max-inbound-streams', '0'], {}, () => ''), '--max-inbound-streams must be a whole number, 1 or more, got "0"')
    refused(() => parseCli(['--config', 'c.json'], {}, () => '{"maxTtl": "7200"}'), '"maxTtl" in c.json must be a whole number of seconds from 1 to 259200, got the string "7200"')
  })

  it('the error carries libp2p\'s name, so code that checks names sees it too', () => {
    expect(() => resolveClientConfig({ maxCookies: 0 })).to.throw().with.property('name', 'InvalidParametersError')
  })
})
