/**
 * Requests decoded with a strict reading of their namespaces.
 *
 * protons decodes strings as protobuf.js does, leniently: bytes that are not UTF-8 never become U+FFFD but lone
 * surrogates (`0xff`), or other characters altogether (the overlong `0xc0 0xaf` reads as "/", a cut sequence as
 * some unrelated letter). A namespace stored that way is either echoed back as invalid UTF-8, which strict
 * decoders (Rust's prost, Go's protobuf) refuse, failing the whole DISCOVER_RESPONSE it is in, or is not what
 * the sender wrote. So the namespace bytes of REGISTER, UNREGISTER and DISCOVER are checked with a fatal UTF-8
 * decoder, and a namespace that fails is replaced with U+FFFD, which the namespace rules refuse as "bytes that
 * are not UTF-8".
 */
import { reader } from 'protons-runtime'
import { Message } from '../pb/rendezvous.ts'
import { encodeReply } from './reply-encoding.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** `Message` fields holding a body with a namespace in its field 1: register, unregister, discover */
const BODIES = { 2: 'register', 4: 'unregister', 5: 'discover' } as const
const NAMESPACE_FIELD = 1
const LENGTH_DELIMITED = 2

/** A top-level field of a protobuf message and where it lies in the message's bytes */
export interface FieldSpan {
  field: number
  wireType: number
  /** Where its tag starts */
  start: number
  /** Where its tag ends and its value starts (for a length-delimited field: the length) */
  valueStart: number
  /** Where it ends */
  end: number
  /** The contents of a length-delimited field */
  value?: Uint8Array
}

/**
 * The top-level fields of a message, in order, read with the reader protons decodes with; throws a RangeError
 * where the bytes stop making a field, and on groups (wire types 3 and 4), which no rendezvous peer sends
 */
export function * fieldSpans (bytes: Uint8Array): Generator<FieldSpan> {
  const fields = reader(bytes)

  while (fields.pos < fields.len) {
    const start = fields.pos
    const tag = fields.uint32()
    const valueStart = fields.pos
    const wireType = tag & 7
    const field = tag >>> 3

    if (wireType === 3 || wireType === 4) {
      throw new RangeError(`unexpected wire type ${wireType}`)
    }

    if (wireType === LENGTH_DELIMITED) {
      const length = fields.uint32()
      const contents = fields.pos
      fields.skip(length)
      yield { field, wireType, start, valueStart, end: fields.pos, value: bytes.subarray(contents, fields.pos) }
    } else {
      fields.skipType(wireType)
      yield { field, wireType, start, valueStart, end: fields.pos }
    }
  }
}

function isUtf8 (bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

/** The bodies (`register`, `unregister`, `discover`) whose namespace bytes are not UTF-8 */
function bodiesWithInvalidNamespace (bytes: Uint8Array): Set<'register' | 'unregister' | 'discover'> {
  const invalid = new Set<'register' | 'unregister' | 'discover'>()

  try {
    for (const outer of fieldSpans(bytes)) {
      const body = BODIES[outer.field as keyof typeof BODIES]

      if (body == null || outer.value == null) {
        continue
      }

      for (const inner of fieldSpans(outer.value)) {
        if (inner.field === NAMESPACE_FIELD && inner.value != null && !isUtf8(inner.value)) {
          invalid.add(body)
        }
      }
    }
  } catch {
    // protons decoded what this cannot walk (a group, wire types 3 and 4, which no rendezvous peer sends):
    // the namespace bytes cannot be vouched for, so none is taken
    return new Set(Object.values(BODIES))
  }

  return invalid
}

/**
 * `Message` for `pbStream(…).pb()`: decodes as protons does, then marks namespaces that were not UTF-8; encodes
 * replies as `Message.encode` does (a DISCOVER_RESPONSE in one pass, see reply-encoding.ts)
 */
export const StrictRequest = {
  encode: encodeReply,
  decode (buf: Uint8Array | Uint8ArrayList): Message {
    const message = Message.decode(buf)
    const bytes = buf instanceof Uint8Array ? buf : buf.subarray()

    for (const body of bodiesWithInvalidNamespace(bytes)) {
      const decoded = message[body]

      if (decoded != null) {
        decoded.ns = '\ufffd'
      }
    }

    return message
  }
}
