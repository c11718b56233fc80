import { expect } from 'aegir/chai'
import { parseMetricsAddress } from '../../src/cli/command-option-types.ts'
import { helpText } from '../../src/cli/help.ts'
import { COMMAND_OPTIONS, envName } from '../../src/cli/option-table.ts'
import { parseCli } from '../../src/cli/parse-cli.ts'
import { redactUrl } from '../../src/cli/redact-url.ts'
import { UsageError } from '../../src/cli/usage-error.ts'
import { SERVER_OPTIONS } from '../../src/server/config.ts'
import { MEMORY_STORE_OPTIONS } from '../../src/server/store/memory-store-options.ts'
import { POSTGRES_STORE_OPTIONS } from '../../src/server/store/postgres-store-options.ts'
import type { CliConfig } from '../../src/cli/parse-cli.ts'

const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']

/** A config file reader over an in-memory set of files */
function files (contents: Record<string, string> = {}): (path: string) => string {
  return (path) => {
    if (contents[path] == null) {
      throw new Error(`ENOENT: no such file, open '${path}'`)
    }
    return contents[path]
  }
}

function run (argv: string[], env: Record<string, string> = {}, read = files()): CliConfig {
  const request = parseCli(argv, env, read)

  if (request.action !== 'run') {
    throw new Error(`expected to run, got ${request.action}`)
  }

  return request.config
}

function usageError (argv: string[], env: Record<string, string> = {}, read = files()): string {
  try {
    parseCli(argv, env, read)
  } catch (err: any) {
    expect(err).to.be.an.instanceOf(UsageError)
    return err.message
  }

  throw new Error(`expected ${JSON.stringify(argv)} to be refused`)
}

describe('rendezvous-server options', () => {
  it('runs with defaults when given nothing: TCP and WebSockets listeners, memory store, no metrics', () => {
    const config = run([])

    expect(config.listen).to.deep.equal(DEFAULT_LISTEN)
    expect(config.listen.some(ma => ma.endsWith('/ws'))).to.be.true()
    expect(config.announce).to.deep.equal([])
    expect(config.identityFile).to.equal('rendezvous-identity.key')
    expect(config.store).to.deep.equal({ kind: 'memory' })
    expect(config.server).to.deep.equal({})
    expect(config.relay).to.be.false()
    expect(config.relayUnlimited).to.be.false()
    expect(config.metrics).to.be.undefined()
    expect(config.logLevel).to.equal('error')
  })

  it('takes repeated and comma-separated list flags, in both --flag value and --flag=value forms', () => {
    const config = run(['--listen', '/ip4/127.0.0.1/tcp/1', '--listen=/ip4/127.0.0.1/tcp/2/ws,/ip6/::1/tcp/3', '--announce', '/dns4/rdv.example.com/tcp/443/wss'])

    expect(config.listen).to.deep.equal(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2/ws', '/ip6/::1/tcp/3'])
    expect(config.announce).to.deep.equal(['/dns4/rdv.example.com/tcp/443/wss'])
  })

  it('maps every server limit flag to its server option', () => {
    const config = run([
      '--min-ttl', '60', '--max-ttl', '600', '--default-ttl', '120', '--max-namespace-length', '64',
      '--max-registrations-per-peer', '5', '--max-registrations-total', '100', '--max-discover-limit', '50',
      '--max-request-size', '4096', '--max-response-size', '65536', '--max-inbound-streams', '4',
      '--max-concurrent-requests', '16', '--timeout', '2000', '--sweep-interval', '1000',
      '--run-on-limited-connection', 'false', '--protocol', '/rendezvous/1.0.0', '--protocol', '/test/rendezvous/1.0.0',
      '--ttl-below-min', 'reject', '--stream-idle-timeout', '30000', '--max-requests-per-stream', '10',
      '--verified-record-cache-size', '0'
    ])

    expect(config.server).to.deep.equal({
      minTtl: 60,
      maxTtl: 600,
      defaultTtl: 120,
      maxNamespaceLength: 64,
      maxRegistrationsPerPeer: 5,
      maxRegistrationsTotal: 100,
      maxDiscoverLimit: 50,
      maxRequestSize: 4096,
      maxResponseSize: 65536,
      maxInboundStreams: 4,
      maxConcurrentRequests: 16,
      timeout: 2000,
      sweepInterval: 1000,
      runOnLimitedConnection: false,
      protocols: ['/rendezvous/1.0.0', '/test/rendezvous/1.0.0'],
      ttlBelowMin: 'reject',
      streamIdleTimeout: 30000,
      maxRequestsPerStream: 10,
      verifiedRecordCacheSize: 0
    })
    expect(usageError(['--ttl-below-min', 'drop'])).to.equal('--ttl-below-min must be \'clamp\' or \'reject\', got "drop"')
    expect(usageError(['--stream-idle-timeout', '2147483648'])).to.equal('--stream-idle-timeout must be a whole number of ms from 1 to 2147483647, got "2147483648"')
    expect(usageError(['--max-requests-per-stream', '0'])).to.equal('--max-requests-per-stream must be a whole number, 1 or more, got "0"')
    expect(usageError(['--verified-record-cache-size', '-1'])).to.equal('--verified-record-cache-size must be a whole number, 0 or more, got "-1"')
  })

  it('has a flag for every option of the server and its stores that a deployment sets', () => {
    // what a flag cannot carry or a deployment has no reason to change, and why
    const without: Record<string, string> = {
      store: 'chosen by --store',
      url: 'the --store URL',
      sweepSlice: 'how often the memory store\'s sweep yields to the event loop, not a capacity',
      idleInTransactionTimeout: 'a safety net for a session stuck in a transaction, below any deployment\'s concern',
      clockCheckInterval: 'how often the database clock is compared with the local one, an internal rhythm',
      sweepBatchSize: 'how many expired rows one transaction deletes, an internal rhythm',
      sessionSettings: 'PostgreSQL settings belong in the role or the database (ALTER ROLE ... SET)',
      clock: 'for tests',
      log: 'the command logs through --log-level',
      ownNamespaces: 'set by --relay (the relay lists itself under /libp2p/relay)'
    }
    const flagged = new Set<string>(COMMAND_OPTIONS.flatMap(option => option.sets == null ? [] : [option.sets.key]))
    const options = [...Object.keys(SERVER_OPTIONS.rows), ...Object.keys(MEMORY_STORE_OPTIONS.rows), ...Object.keys(POSTGRES_STORE_OPTIONS.rows)]

    expect(options.filter(option => !flagged.has(option) && without[option] == null)).to.deep.equal([])
    expect([...flagged].filter(option => without[option] != null)).to.deep.equal([])
    // a flag that sets a service option checks it with that option's own row
    for (const option of COMMAND_OPTIONS) {
      if (option.sets != null) {
        const table = { server: SERVER_OPTIONS, memoryStore: MEMORY_STORE_OPTIONS, postgresStore: POSTGRES_STORE_OPTIONS }[option.sets.service]
        expect(option.row, `--${option.flag}`).to.equal((table.rows as Record<string, unknown>)[option.sets.key])
      }
    }
  })

  it('reads a postgres store with its schema, pool sizes and timeouts', () => {
    const config = run(['--store', 'postgres://rdv:secret@db:5432/rendezvous', '--postgres-schema', 'fleet_a', '--postgres-max-connections', '4',
      '--postgres-max-read-connections', '2', '--postgres-max-waiting', '50', '--postgres-connect-timeout', '3', '--postgres-statement-timeout', '1000',
      '--postgres-lock-timeout', '500'])

    expect(config.store).to.deep.equal({
      kind: 'postgres',
      url: 'postgres://rdv:secret@db:5432/rendezvous',
      schema: 'fleet_a',
      maxConnections: 4,
      maxReadConnections: 2,
      maxWaiting: 50,
      connectTimeout: 3,
      statementTimeout: 1000,
      lockTimeout: 500
    })
    // the store applies its own defaults to the rest
    expect(run(['--store', 'postgresql://db/rendezvous']).store).to.deep.equal({ kind: 'postgres', url: 'postgresql://db/rendezvous', schema: 'public' })
  })

  it('takes every option from a RENDEZVOUS_* environment variable', () => {
    const config = run([], {
      RENDEZVOUS_LISTEN: '/ip4/127.0.0.1/tcp/7,/ip4/127.0.0.1/tcp/8/ws',
      RENDEZVOUS_STORE: 'postgres://db/rendezvous',
      RENDEZVOUS_MAX_TTL: '9000',
      RENDEZVOUS_RELAY: 'true',
      RENDEZVOUS_RELAY_UNLIMITED: 'yes',
      RENDEZVOUS_METRICS: '0.0.0.0:9464',
      RENDEZVOUS_LOG_LEVEL: 'debug',
      RENDEZVOUS_IDENTITY: '/var/lib/rdv/key'
    })

    expect(config.listen).to.deep.equal(['/ip4/127.0.0.1/tcp/7', '/ip4/127.0.0.1/tcp/8/ws'])
    expect(config.store.kind).to.equal('postgres')
    expect(config.server.maxTtl).to.equal(9000)
    expect(config.relay).to.be.true()
    expect(config.relayUnlimited).to.be.true()
    expect(config.metrics).to.deep.equal({ host: '0.0.0.0', port: 9464 })
    expect(config.logLevel).to.equal('debug')
    expect(config.identityFile).to.equal('/var/lib/rdv/key')
  })

  it('names an environment variable for every option and documents each in --help', () => {
    const help = helpText()

    for (const option of COMMAND_OPTIONS) {
      expect(envName(option.flag)).to.match(/^RENDEZVOUS_[A-Z_]+$/)
      expect(help).to.include(`--${option.flag}`)
      expect(help).to.include(envName(option.flag))
    }
    expect(parseCli(['--help'], {}, files())).to.deep.equal({ action: 'help' })
    expect(parseCli(['--max-ttl', '5', '-h'], {}, files()).action).to.equal('help')
    expect(parseCli(['--version'], {}, files()).action).to.equal('version')
  })

  it('reads a JSON config file and lets the environment and then flags override it', () => {
    const read = files({ '/etc/rdv.json': JSON.stringify({ maxTtl: 1000, minTtl: 100, listen: ['/ip4/127.0.0.1/tcp/1'], relay: true, store: 'postgres://file/db' }) })

    const fromFile = run(['--config', '/etc/rdv.json'], {}, read)
    expect(fromFile.server).to.include({ maxTtl: 1000, minTtl: 100 })
    expect(fromFile.listen).to.deep.equal(['/ip4/127.0.0.1/tcp/1'])
    expect(fromFile.relay).to.be.true()

    const overridden = run(['--config', '/etc/rdv.json', '--max-ttl', '3000'], { RENDEZVOUS_MAX_TTL: '2000', RENDEZVOUS_STORE: 'memory' }, read)
    expect(overridden.server.maxTtl).to.equal(3000)
    expect(overridden.store).to.deep.equal({ kind: 'memory' })
    expect(run([], { RENDEZVOUS_MAX_TTL: '2000', RENDEZVOUS_CONFIG: '/etc/rdv.json' }, read).server.maxTtl).to.equal(2000)
  })

  it('refuses unknown flags, missing values and stray arguments with a message naming them', () => {
    expect(usageError(['--bogus'])).to.include('--bogus')
    expect(usageError(['--listen'])).to.include('--listen')
    expect(usageError(['serve'])).to.include('serve')
    expect(usageError(['--relay=yes'])).to.include('--relay')
  })

  it('refuses values of the wrong kind, saying which flag, variable or config key holds them', () => {
    expect(usageError(['--max-ttl', 'soon'])).to.equal('--max-ttl must be a whole number of seconds from 1 to 259200, got "soon"')
    expect(usageError(['--timeout', '0'])).to.include('--timeout')
    expect(usageError(['--timeout', '1.5'])).to.include('--timeout')
    expect(usageError([], { RENDEZVOUS_MAX_CONNECTIONS: '-3' })).to.include('RENDEZVOUS_MAX_CONNECTIONS')
    expect(usageError([], { RENDEZVOUS_RELAY: 'maybe' })).to.include('RENDEZVOUS_RELAY must be true or false')
    expect(usageError(['--config', 'c.json'], {}, files({ 'c.json': '{"maxTtl": "long"}' }))).to.equal('"maxTtl" in c.json must be a whole number of seconds from 1 to 259200, got the string "long"')
    expect(usageError(['--listen', '/ip4/not-an-ip/tcp/1'])).to.match(/^--listen must be a TCP .* \(invalid .*\), got "\/ip4\/not-an-ip\/tcp\/1"$/i)
    expect(usageError(['--store', 'mysql://db'])).to.equal('--store must be "memory" or a postgres:// URL, got "mysql://db"')
    expect(usageError(['--log-level', 'loud'])).to.equal('--log-level must be \'silent\', \'error\', \'info\', \'debug\' or \'trace\', got "loud"')
    expect(usageError(['--metrics', 'localhost'])).to.equal('--metrics must be [host:]port, e.g. 127.0.0.1:9464 or 9464, got "localhost"')
  })

  it('refuses a store URL the driver could not use, and a schema that is not a plain identifier, before anything starts', () => {
    expect(usageError(['--store', 'postgres://rdv:s3cret@db:99999/x'])).to.equal('--store must be "memory" or a postgres:// URL the driver can use (port 99999 is not a port number (1 to 65535)), got "postgres://rdv:***@db:99999/x"')
    expect(usageError(['--store', 'postgres://db:5432,db2:70000/x'])).to.include('port 70000')
    expect(usageError(['--store', 'postgres://db:port/x'])).to.include('port port')
    expect(run(['--store', 'postgres://rdv:s3cret@[::1]:5432,db2/x']).store.kind).to.equal('postgres')
    expect(run(['--store', 'postgres://rdv@%2Fvar%2Frun%2Fpostgresql/x']).store.kind).to.equal('postgres')

    expect(usageError(['--store', 'postgres://db/x', '--postgres-schema', 'fleet-a'])).to.equal('--postgres-schema must be a plain identifier (letters, digits and _, not starting with a digit, at most 63), got "fleet-a"')
    expect(usageError([], { RENDEZVOUS_STORE: 'postgres://db/x', RENDEZVOUS_POSTGRES_SCHEMA: '1st' })).to.equal('environment variable RENDEZVOUS_POSTGRES_SCHEMA must be a plain identifier (letters, digits and _, not starting with a digit, at most 63), got "1st"')
  })

  it('refuses listen addresses its transports cannot listen on: QUIC, UDP, names, /wss', () => {
    expect(usageError(['--listen', '/ip4/0.0.0.0/udp/4001/quic-v1'])).to.equal('--listen must be a TCP (/ip4/0.0.0.0/tcp/4001) or WebSockets (/ip4/0.0.0.0/tcp/4002/ws) address on an IP address, the only ones this server listens on, got "/ip4/0.0.0.0/udp/4001/quic-v1"')
    // beside a TCP address it was dropped without a word
    expect(usageError(['--listen', '/ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1'])).to.include('quic-v1')
    expect(usageError(['--listen', '/dns4/localhost/tcp/4001'])).to.include('got "/dns4/localhost/tcp/4001"')
    expect(usageError(['--listen', '/ip4/0.0.0.0/tcp/443/wss'])).to.include('terminate TLS in a proxy')
    expect(usageError(['--listen', '/ip4/0.0.0.0/tcp/443/tls/ws'])).to.include('terminate TLS in a proxy')
    expect(run(['--listen', '/ip6/::/tcp/4001,/ip6/::/tcp/4002/ws']).listen).to.have.lengthOf(2)
  })

  it('refuses a protocol id that does not start with "/", naming the flag', () => {
    expect(usageError(['--protocol', 'notaprotocol'])).to.equal('--protocol must be a protocol id that starts with "/" and holds no spaces, e.g. "/rendezvous/1.0.0", got "notaprotocol"')
    expect(usageError(['--protocol', '/a', '--protocol', 'b'])).to.include('got "b"')
    expect(run(['--protocol', '/canvas/rendezvous/1.0.0']).server.protocols).to.deep.equal(['/canvas/rendezvous/1.0.0'])
  })

  it('says a negative number is out of range, rather than that the flag is ambiguous', () => {
    expect(usageError(['--min-ttl', '-5'])).to.equal('--min-ttl must be a whole number of seconds from 1 to 259200, got "-5"')
    expect(usageError(['--timeout', '-1.5'])).to.equal('--timeout must be a whole number of ms from 1 to 2147483647, got "-1.5"')
    // a flag after a value-taking flag is still a missing value
    expect(usageError(['--min-ttl', '--relay'])).to.include('--min-ttl')
  })

  it('bounds the TTLs and every delay: a TTL past 72 h or a timer past 2^31 - 1 ms is a usage error', () => {
    expect(usageError(['--max-ttl', '4000000'])).to.equal('--max-ttl must be a whole number of seconds from 1 to 259200, got "4000000"')
    expect(usageError(['--sweep-interval', '2147483648'])).to.include('--sweep-interval must be a whole number of ms from 1 to 2147483647')
    expect(usageError(['--store-start-timeout', '2147483648'])).to.include('--store-start-timeout must be a whole number of ms from 1 to 2147483647')
  })

  it('takes config file values of their JSON type only: no string for a number, no "yes" or 1 for a boolean', () => {
    const refused = (json: string): string => usageError(['--config', 'c.json'], {}, files({ 'c.json': json }))

    expect(refused('{"relay": "yes"}')).to.equal('"relay" in c.json must be true or false, got the string "yes"')
    expect(refused('{"relay": 1}')).to.equal('"relay" in c.json must be true or false, got 1')
    expect(refused('{"minTtl": "7200"}')).to.equal('"minTtl" in c.json must be a whole number of seconds from 1 to 259200, got the string "7200"')
    expect(refused('{"listen": [4001]}')).to.include('"listen" in c.json must be a TCP').and.include('got 4001')
    expect(refused('{"store": 5}')).to.equal('"store" in c.json must be "memory" or a postgres:// URL, got 5')
    const config = run(['--config', 'c.json'], {}, files({ 'c.json': '{"relay": true, "minTtl": 7200, "listen": "/ip4/127.0.0.1/tcp/1"}' }))
    expect(config.relay).to.be.true()
    expect(config.server.minTtl).to.equal(7200)
  })

  it('reads the memory store budgets and the store start deadline, and refuses the budgets beside a PostgreSQL store', () => {
    expect(run(['--memory-max-bytes', '1048576', '--memory-max-bytes-per-peer', '65536']).store).to.deep.equal({ kind: 'memory', maxBytes: 1048576, maxBytesPerPeer: 65536 })
    expect(run([]).storeStartTimeout).to.equal(30_000)
    expect(run(['--store-start-timeout', '5000']).storeStartTimeout).to.equal(5000)
    expect(usageError(['--store', 'postgres://db/x', '--memory-max-bytes', '1048576'])).to.equal('--memory-max-bytes applies to the memory store only, and --store names a PostgreSQL one')
    expect(run(['--max-record-size', '2048', '--max-record-addresses', '16']).server).to.deep.equal({ maxRecordSize: 2048, maxRecordAddresses: 16 })
  })

  it('reads the connection limits and the stop deadline, with their defaults', () => {
    expect(run([])).to.include({ maxConnections: 1000, maxConnectionsPerPeer: 4, connectionIdleTimeout: 60_000, stopTimeout: 30_000 })
    expect(run(['--max-connections-per-peer', '2', '--connection-idle-timeout', '5000', '--stop-timeout', '1000'])).to.include({ maxConnectionsPerPeer: 2, connectionIdleTimeout: 5000, stopTimeout: 1000 })
    expect(usageError(['--max-connections-per-peer', '0'])).to.equal('--max-connections-per-peer must be a whole number, 1 or more, got "0"')
    expect(usageError([], { RENDEZVOUS_STOP_TIMEOUT: 'soon' })).to.equal('environment variable RENDEZVOUS_STOP_TIMEOUT must be a whole number of ms from 1 to 2147483647, got "soon"')
  })

  it('refuses server limits that cannot work together, in terms of the flags', () => {
    expect(usageError(['--min-ttl', '600', '--max-ttl', '60'])).to.equal('--min-ttl must be at most --max-ttl (60), got "600"')
    expect(usageError(['--default-ttl', '10'])).to.equal('--default-ttl must be within --min-ttl and --max-ttl (7200 to 259200), got "10"')
    expect(usageError(['--max-response-size', '1024', '--max-record-size', '2048'], { RENDEZVOUS_MAX_REQUEST_SIZE: '4096' })).to.equal('--max-response-size must be at least 2455 bytes, to carry a record of --max-record-size (2048) bytes in a namespace of --max-namespace-length (255) bytes, got "1024"')
  })

  it('refuses a config file that is missing, not JSON, not an object, or has an unknown key', () => {
    expect(usageError(['--config', 'gone.json'])).to.include('cannot read config file gone.json')
    expect(usageError(['--config', 'c.json'], {}, files({ 'c.json': '{ nope' }))).to.include('is not valid JSON')
    expect(usageError(['--config', 'c.json'], {}, files({ 'c.json': '[1]' }))).to.include('must hold a JSON object')
    expect(usageError(['--config', 'c.json'], {}, files({ 'c.json': '{"maxTTL": 5}' }))).to.equal('config file c.json has an unknown option "maxTTL" (did you mean "maxTtl"?)')
  })

  it('parses metrics addresses with and without a host, IPv6 included', () => {
    expect(parseMetricsAddress('9464')).to.deep.equal({ host: '127.0.0.1', port: 9464 })
    expect(parseMetricsAddress('0.0.0.0:9464')).to.deep.equal({ host: '0.0.0.0', port: 9464 })
    expect(parseMetricsAddress('[::1]:0')).to.deep.equal({ host: '::1', port: 0 })
    expect(parseMetricsAddress('70000')).to.be.undefined()
    expect(parseMetricsAddress('host:')).to.be.undefined()
    expect(run(['--metrics', '[::1]:9464']).metrics).to.deep.equal({ host: '::1', port: 9464 })
  })

  it('hides the password of a store URL when printing it', () => {
    expect(redactUrl('postgres://rdv:s3cret@db:5432/x')).to.equal('postgres://rdv:***@db:5432/x')
    expect(redactUrl('postgres://db:5432/x')).to.equal('postgres://db:5432/x')
    expect(usageError(['--store', 'pg://rdv:s3cret@db/x'])).to.not.include('s3cret')
  })
})
