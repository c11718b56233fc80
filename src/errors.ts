import { Message } from './pb/rendezvous.ts'

/**
 * The status of a rendezvous response, as the spec names it (the schema's `ResponseStatus`: {@link STATUS_CODES}
 * lists each one with its number, and would not compile if the two disagreed)
 */
export type ResponseStatus = 'OK' | 'E_INVALID_NAMESPACE' | 'E_INVALID_SIGNED_PEER_RECORD' | 'E_INVALID_TTL' | 'E_INVALID_COOKIE' |
  'E_NOT_AUTHORIZED' | 'E_INTERNAL_ERROR' | 'E_UNAVAILABLE'

/** The numeric wire code of each status, as the spec lists them */
export const STATUS_CODES: Record<ResponseStatus, number> = {
  [Message.ResponseStatus.OK]: 0,
  [Message.ResponseStatus.E_INVALID_NAMESPACE]: 100,
  [Message.ResponseStatus.E_INVALID_SIGNED_PEER_RECORD]: 101,
  [Message.ResponseStatus.E_INVALID_TTL]: 102,
  [Message.ResponseStatus.E_INVALID_COOKIE]: 103,
  [Message.ResponseStatus.E_NOT_AUTHORIZED]: 200,
  [Message.ResponseStatus.E_INTERNAL_ERROR]: 300,
  [Message.ResponseStatus.E_UNAVAILABLE]: 400
}

/**
 * A rendezvous exchange that ended with a non-OK status. On the server it is thrown by validation and turned
 * into a response with this status; on the client it is what a non-OK response becomes.
 */
export class RendezvousError extends Error {
  static name = 'RendezvousError'
  name = 'RendezvousError'
  readonly status: ResponseStatus
  readonly code: number

  constructor (status: ResponseStatus, message: string) {
    super(message)
    this.status = status
    this.code = STATUS_CODES[status]
  }

  /**
   * 1xx: the request was wrong and the same request will fail again.
   * 2xx: this point refuses us; give up on it for this request.
   * 3xx and 4xx: the point has trouble; back off and retry later.
   */
  get retryable (): boolean {
    return this.code >= 300
  }
}

/** The remote sent something that is not a valid response to our request (wrong type, missing fields, EOF) */
export class InvalidResponseError extends Error {
  static name = 'InvalidResponseError'
  name = 'InvalidResponseError'
}

/** A signed peer record failed a check (signature, domain, payload type, signer) */
export class InvalidPeerRecordError extends Error {
  static name = 'InvalidPeerRecordError'
  name = 'InvalidPeerRecordError'
}

/** A cookie is malformed, forged, or was issued for another namespace or by a server outside this fleet */
export class InvalidCookieError extends Error {
  static name = 'InvalidCookieError'
  name = 'InvalidCookieError'
}

/** A namespace is empty or longer than allowed */
export class InvalidNamespaceError extends Error {
  static name = 'InvalidNamespaceError'
  name = 'InvalidNamespaceError'
}

/** The node has no address worth registering */
export class NoAddressesError extends Error {
  static name = 'NoAddressesError'
  name = 'NoAddressesError'
}

/** An operation needs rendezvous points and none are configured or reachable */
export class NoRendezvousPointsError extends Error {
  static name = 'NoRendezvousPointsError'
  name = 'NoRendezvousPointsError'
}

/**
 * The registration store cannot answer now: a lock or a statement took too long, no connection is free, or the
 * database is unreachable. Nothing is wrong with the request, and it may succeed later: a server answers it with
 * E_UNAVAILABLE.
 */
export class StoreUnavailableError extends Error {
  static name = 'StoreUnavailableError'
  name = 'StoreUnavailableError'
}

/**
 * This JavaScript runtime cannot run libp2p v3 (Node.js before 22, or a browser without `Promise.withResolvers`):
 * thrown by the factories and the command before anything fails deeper inside libp2p
 */
export class UnsupportedRuntimeError extends Error {
  static name = 'UnsupportedRuntimeError'
  name = 'UnsupportedRuntimeError'
}
