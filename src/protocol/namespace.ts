import { MAX_NAMESPACE_LENGTH } from '../constants.ts'
import { InvalidNamespaceError } from '../errors.ts'

const encoder = new TextEncoder()

/** Namespaces are counted in UTF-8 bytes, the unit Rust and Go servers use, so a name we accept they accept too */
export function namespaceByteLength (ns: string): number {
  return encoder.encode(ns).byteLength
}

/**
 * C0 controls, DEL, C1 controls, U+FFFD, which is what a strict decoder leaves where the sender put bytes that
 * are not UTF-8, and lone surrogates, which is what protons' lenient decoder makes of some of them (`0xff`) and
 * which cannot be encoded as UTF-8 again: a namespace with any of them cannot be typed, logged, compared or sent
 * on safely.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ufffd\p{Cs}]/u

/** Why a namespace is not acceptable, or `undefined` when it is */
export function namespaceProblem (ns: string, maxLength: number = MAX_NAMESPACE_LENGTH): string | undefined {
  if (ns.length === 0) {
    return 'namespace is empty'
  }

  const length = namespaceByteLength(ns)

  if (length > maxLength) {
    return `namespace is ${length} bytes, more than the ${maxLength} allowed`
  }

  if (FORBIDDEN.test(ns)) {
    return 'namespace contains control characters or bytes that are not UTF-8'
  }

  return undefined
}

/**
 * A namespace checked by {@link parseNamespace}, the one place that makes one: what takes a `Namespace` does not
 * check it again (rust-libp2p's `Namespace::new` is the model). Still a string, for the public API and the wire.
 */
export type Namespace = string & { readonly __brand: 'Namespace' }

/** The namespace, checked once; throws an {@link InvalidNamespaceError} naming what is wrong with it */
export function parseNamespace (ns: string, maxLength: number = MAX_NAMESPACE_LENGTH): Namespace {
  const problem = namespaceProblem(ns, maxLength)

  if (problem != null) {
    throw new InvalidNamespaceError(problem)
  }

  return ns as Namespace
}

/** Throws an {@link InvalidNamespaceError} when the namespace is not acceptable (parseNamespace, for a caller that keeps its string) */
export function validateNamespace (ns: string, maxLength: number = MAX_NAMESPACE_LENGTH): void {
  parseNamespace(ns, maxLength)
}
