/**
 * Errors that say what failed. Every error a request of the client ends with names the request (REGISTER, DISCOVER
 * or UNREGISTER, and its namespace) and the point (its peer id, and the addresses given for it or its connection's),
 * e.g. `DISCOVER "chat" at rendezvous point 12D3KooW… (/ip4/127.0.0.1/tcp/14999): connection error 127.0.0.1:14999:
 * connect ECONNREFUSED 127.0.0.1:14999`. A bare `connect ECONNREFUSED` from a node that talks to several points
 * tells its operator nothing.
 *
 * The errors the client makes itself (`RendezvousError` with its `status`, `InvalidResponseError`, `TimeoutError`,
 * `NoAddressesError`) say it from the start. Any other one (a dial, a stream, an abort) is thrown again as an error
 * of the same class where it can be rebuilt from a message (libp2p's errors, ours, `DOMException`), else a plain
 * `Error` of the same name, with its other own fields (Node's `code`, `errno`, `address`…) and the original as
 * `cause`: checks of `instanceof`, `name`, `code` and `RendezvousError.retryable` keep working.
 */
import { isPeerId } from '@libp2p/interface'
import { RendezvousError } from '../errors.ts'
import type { ResolvedPoint } from './point.ts'
import type { ConnectionManager } from '@libp2p/interface-internal'

export type RequestType = 'REGISTER' | 'DISCOVER' | 'UNREGISTER'

/** Whether `err` is a refusal with this status */
export function hasStatus (err: unknown, status: RendezvousError['status']): err is RendezvousError {
  return err instanceof RendezvousError && err.status === status
}

/** Addresses named in a message before the rest are only counted */
const MAX_ADDRESSES_NAMED = 2

/** The addresses given for the point, or those it is connected on when it was named by peer id, without `/p2p/<its id>` */
function addressesOf (point: ResolvedPoint, connectionManager?: Pick<ConnectionManager, 'getConnections'>): string[] {
  const target = point.target
  let addresses: string[]

  if (isPeerId(target)) {
    addresses = connectionManager?.getConnections(target).map(connection => connection.remoteAddr.toString()) ?? []
  } else {
    addresses = (Array.isArray(target) ? target : [target]).map(ma => ma.toString())
  }

  const suffix = `/p2p/${point.id}`
  return addresses.map(address => address.endsWith(suffix) ? address.slice(0, -suffix.length) : address)
}

/** `DISCOVER "chat" at rendezvous point 12D3KooW… (/ip4/127.0.0.1/tcp/4001)`: what a request's errors start with */
export function describeRequest (type: RequestType, namespace: string | undefined, point: ResolvedPoint, connectionManager?: Pick<ConnectionManager, 'getConnections'>): string {
  const what = namespace == null ? `${type} of all namespaces` : `${type} ${JSON.stringify(namespace)}`
  const addresses = addressesOf(point, connectionManager)
  const more = addresses.length > MAX_ADDRESSES_NAMED ? ` and ${addresses.length - MAX_ADDRESSES_NAMED} more` : ''
  const where = addresses.length === 0 ? '' : ` (${addresses.slice(0, MAX_ADDRESSES_NAMED).join(', ')}${more})`

  return `${what} at rendezvous point ${point.id}${where}`
}

/**
 * What went wrong, in words: an error's message; a browser's WebSocket fails with a bare `error` Event (the cause is
 * only in the browser's console), which would otherwise read "[object Event]"
 */
export function describeError (err: unknown): string {
  if (err instanceof Error || typeof (err as Error)?.message === 'string') {
    return (err as Error).message
  }

  if (typeof (err as Event)?.type === 'string') {
    return `the connection failed (an '${(err as Event).type}' event without detail: the browser's console names the cause)`
  }

  return String(err)
}

/** `err` as an error whose message starts with `context`; an error that already does is returned as it is */
export function inContext (err: unknown, context: string): Error {
  if (!(err instanceof Error)) {
    return new Error(`${context}: ${describeError(err)}`, { cause: err })
  }

  if (err.message.startsWith(context)) {
    return err
  }

  const copy = sameKind(err, `${context}: ${err.message}`)

  for (const key of Object.getOwnPropertyNames(err)) {
    if (!['message', 'stack', 'name', 'cause'].includes(key) && !(key in copy)) {
      Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(err, key) ?? { value: undefined })
    }
  }

  Object.defineProperty(copy, 'cause', { value: err, writable: true, configurable: true, enumerable: false })
  return copy
}

/** A new error of the class of `err`, when its class is built from a message alone, else a plain one of its name */
function sameKind (err: Error, message: string): Error {
  if (err instanceof RendezvousError) {
    return new RendezvousError(err.status, message)
  }

  if (typeof DOMException !== 'undefined' && err instanceof DOMException) {
    return new DOMException(message, err.name)
  }

  const Kind = err.constructor as (new (message: string) => Error) | undefined

  if (typeof Kind === 'function' && Kind !== Error) {
    try {
      const copy = new Kind(message)

      // a class taking other arguments (AggregateError's list) builds something else: not the same kind
      if (copy instanceof Kind && copy.name === err.name && copy.message === message) {
        return copy
      }
    } catch {}
  }

  const copy = new Error(message)
  copy.name = err.name
  return copy
}
