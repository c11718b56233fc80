/**
 * The value types of the command's own options, beside the general ones of options/option-types.ts: the addresses
 * it listens on (only what its transports can listen on), multiaddrs to announce, where the store is, and where
 * Prometheus reads the metrics.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { postgresUrlProblem } from '../server/store/postgres-settings.ts'
import { redactUrl } from './redact-url.ts'
import type { CheckContext, OptionType } from '../options/option-types.ts'

export interface MetricsAddress {
  host: string
  port: number
}

/** A multiaddr's string, normalized; fails naming why the text is none */
function parseMultiaddr (value: unknown, requirement: string, context: CheckContext): string {
  if (typeof value !== 'string') {
    context.fail(requirement, value)
  }

  try {
    return multiaddr(value).toString()
  } catch (err: any) {
    context.fail(`${requirement} (${String(err.message)})`, value)
  }
}

/** A list of multiaddrs, e.g. the addresses to announce */
export function multiaddrs (): OptionType<string[]> {
  const requirement = 'a multiaddr'

  return {
    requirement: 'multiaddrs',
    placeholder: '<multiaddr>',
    multiple: true,
    check (value: unknown, context: CheckContext): string[] {
      if (!Array.isArray(value)) {
        context.fail('a list of multiaddrs', value)
      }

      return value.map((item, i) => parseMultiaddr(item, requirement, context.at(i)))
    },
    fromText: splitList
  }
}

/** Items a flag or a variable separates with commas */
function splitList (text: string): string[] {
  return text.split(',').map(item => item.trim()).filter(item => item !== '')
}

const LISTEN_REQUIREMENT = 'a TCP (/ip4/0.0.0.0/tcp/4001) or WebSockets (/ip4/0.0.0.0/tcp/4002/ws) address on an IP address, the only ones this server listens on'

/**
 * The addresses the command's transports can listen on: TCP and WebSockets over an IP address. Anything else
 * (QUIC, WebRTC, a /dns name, /wss without a certificate) would make libp2p fail at start, or be dropped without a
 * word beside an address that works.
 */
export function listenAddresses (): OptionType<string[]> {
  return {
    requirement: 'at least one TCP or WebSockets address on an IP address',
    placeholder: '<multiaddr>',
    multiple: true,
    check (value: unknown, context: CheckContext): string[] {
      if (!Array.isArray(value) || value.length === 0) {
        context.fail('at least one TCP or WebSockets address on an IP address', value)
      }

      return value.map((item, i) => {
        const text = parseMultiaddr(item, LISTEN_REQUIREMENT, context.at(i))
        const names = multiaddr(text).getComponents().map(component => component.name)
        const ws = names.length === 3 && names[2] === 'ws'

        if (!((names.length === 2 || ws) && (names[0] === 'ip4' || names[0] === 'ip6') && names[1] === 'tcp')) {
          const wss = names.includes('wss') || names.includes('tls')
          context.at(i).fail(`${LISTEN_REQUIREMENT}${wss ? ' (for wss, terminate TLS in a proxy in front of a /ws address and --announce the /wss one)' : ''}`, item)
        }

        return text
      })
    },
    fromText: splitList
  }
}

const STORE_REQUIREMENT = '"memory" or a postgres:// URL'

/** Where registrations live: `memory`, or a PostgreSQL URL the driver can use (its password never shown) */
export function storeLocation (): OptionType<string> {
  return {
    requirement: STORE_REQUIREMENT,
    placeholder: 'memory|<url>',
    check (value: unknown, context: CheckContext): string {
      if (value === 'memory') {
        return value
      }

      if (typeof value !== 'string' || !/^postgres(ql)?:\/\//i.test(value)) {
        context.fail(STORE_REQUIREMENT, typeof value === 'string' ? redactUrl(value) : value)
      }

      const problem = postgresUrlProblem(value)

      if (problem != null) {
        context.fail(`${STORE_REQUIREMENT} the driver can use (${problem})`, redactUrl(value))
      }

      return value
    },
    fromText: text => text.trim()
  }
}

const METRICS_REQUIREMENT = '[host:]port, e.g. 127.0.0.1:9464 or 9464'

/** `[host:]port`, the host 127.0.0.1 when left out; an IPv6 host in brackets */
export function parseMetricsAddress (value: string): MetricsAddress | undefined {
  const match = /^(?:(\[[0-9a-f:.]+\]|[^:\s]+):)?(\d+)$/i.exec(value.trim())
  const port = match == null ? NaN : Number(match[2])

  if (match == null || !Number.isSafeInteger(port) || port > 65535) {
    return undefined
  }

  return { host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port }
}

/** Where the Prometheus endpoint listens */
export function metricsAddress (): OptionType<MetricsAddress> {
  return {
    requirement: METRICS_REQUIREMENT,
    placeholder: '[host:]port',
    check (value: unknown, context: CheckContext): MetricsAddress {
      const address = typeof value === 'string' ? parseMetricsAddress(value) : undefined

      if (address == null) {
        context.fail(METRICS_REQUIREMENT, value)
      }

      return address
    },
    fromText: text => text.trim()
  }
}
