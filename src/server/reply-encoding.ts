/**
 * The server's replies as bytes. A DISCOVER_RESPONSE carries up to a page of registrations, and protons' generic
 * writer spends about a microsecond and a half on each (a fork and join per nested message, an operation object per
 * field, a string encoded per namespace): encoding a page of 50 cost as much as the rest of the request. This
 * writes a DISCOVER_RESPONSE in one pass into one buffer, each distinct namespace encoded once, and produces
 * exactly the bytes `Message.encode` would; every other reply (and a DISCOVER_RESPONSE with anything unusual in it)
 * goes to `Message.encode`.
 */
import { STATUS_CODES } from '../errors.ts'
import { Message } from '../pb/rendezvous.ts'

const { MessageType } = Message

const utf8 = new TextEncoder()

/** Field tags: (field number << 3) | wire type */
const TAG = {
  messageType: (1 << 3) | 0,
  messageDiscoverResponse: (6 << 3) | 2,
  responseRegistration: (1 << 3) | 2,
  responseCookie: (2 << 3) | 2,
  responseStatus: (3 << 3) | 0,
  responseStatusText: (4 << 3) | 2,
  registerNs: (1 << 3) | 2,
  registerRecord: (2 << 3) | 2,
  registerTtl: (3 << 3) | 0
}

const DISCOVER_RESPONSE_TYPE = 4

function varintLength (value: number): number {
  let length = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    length++
  }
  return length
}

function writeVarint (buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  buf[pos++] = value
  return pos
}

/** A length-delimited field's size: tag, length, contents */
function delimited (length: number): number {
  return 1 + varintLength(length) + length
}

interface Entry {
  ns?: Uint8Array
  record?: Uint8Array
  ttl?: number
  /** Size of the Register message body */
  size: number
}

/** Whether `message` is a DISCOVER_RESPONSE this module writes: only `type` and `discoverResponse`, numbers within 2^53 */
function plainDiscoverResponse (message: Message): message is Message & { discoverResponse: Message.DiscoverResponse } {
  if (message.type !== MessageType.DISCOVER_RESPONSE || message.discoverResponse == null ||
    message.register != null || message.registerResponse != null || message.unregister != null || message.discover != null) {
    return false
  }

  const response = message.discoverResponse

  return (response.status == null || STATUS_CODES[response.status] != null) &&
    (response.registrations ?? []).every(r => r.ttl == null || (r.ttl >= 0n && r.ttl <= BigInt(Number.MAX_SAFE_INTEGER)))
}

/** The bytes of a reply: what `Message.encode(reply)` gives, faster for a DISCOVER_RESPONSE */
export function encodeReply (reply: Message): Uint8Array<ArrayBuffer> {
  if (!plainDiscoverResponse(reply)) {
    return Message.encode(reply)
  }

  const response = reply.discoverResponse
  const namespaces = new Map<string, Uint8Array>()
  const entries: Entry[] = []
  let bodySize = 0

  // a refusal built in code may carry no list at all
  for (const registration of response.registrations ?? []) {
    let ns: Uint8Array | undefined
    if (registration.ns != null) {
      ns = namespaces.get(registration.ns)
      if (ns == null) {
        ns = utf8.encode(registration.ns)
        namespaces.set(registration.ns, ns)
      }
    }

    const entry: Entry = { ns, record: registration.signedPeerRecord, ttl: registration.ttl == null ? undefined : Number(registration.ttl), size: 0 }
    entry.size = (ns == null ? 0 : delimited(ns.byteLength)) +
      (entry.record == null ? 0 : delimited(entry.record.byteLength)) +
      (entry.ttl == null ? 0 : 1 + varintLength(entry.ttl))
    entries.push(entry)
    bodySize += delimited(entry.size)
  }

  const statusText = response.statusText == null ? undefined : utf8.encode(response.statusText)
  const status = response.status == null ? undefined : STATUS_CODES[response.status]
  bodySize += (response.cookie == null ? 0 : delimited(response.cookie.byteLength)) +
    (status == null ? 0 : 1 + varintLength(status)) +
    (statusText == null ? 0 : delimited(statusText.byteLength))

  const buf = new Uint8Array(2 + delimited(bodySize))
  let pos = 0
  buf[pos++] = TAG.messageType
  buf[pos++] = DISCOVER_RESPONSE_TYPE
  buf[pos++] = TAG.messageDiscoverResponse
  pos = writeVarint(buf, pos, bodySize)

  for (const entry of entries) {
    buf[pos++] = TAG.responseRegistration
    pos = writeVarint(buf, pos, entry.size)

    if (entry.ns != null) {
      buf[pos++] = TAG.registerNs
      pos = writeVarint(buf, pos, entry.ns.byteLength)
      buf.set(entry.ns, pos)
      pos += entry.ns.byteLength
    }

    if (entry.record != null) {
      buf[pos++] = TAG.registerRecord
      pos = writeVarint(buf, pos, entry.record.byteLength)
      buf.set(entry.record, pos)
      pos += entry.record.byteLength
    }

    if (entry.ttl != null) {
      buf[pos++] = TAG.registerTtl
      pos = writeVarint(buf, pos, entry.ttl)
    }
  }

  if (response.cookie != null) {
    buf[pos++] = TAG.responseCookie
    pos = writeVarint(buf, pos, response.cookie.byteLength)
    buf.set(response.cookie, pos)
    pos += response.cookie.byteLength
  }

  if (status != null) {
    buf[pos++] = TAG.responseStatus
    pos = writeVarint(buf, pos, status)
  }

  if (statusText != null) {
    buf[pos++] = TAG.responseStatusText
    pos = writeVarint(buf, pos, statusText.byteLength)
    buf.set(statusText, pos)
  }

  return buf
}
