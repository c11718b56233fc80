/**
 * The cookies a client keeps between DISCOVERs, one per (rendezvous point, namespace or "all").
 *
 * Cookies belong to the server that issued them and to the namespace they were issued for: Go and Rust answer
 * E_INVALID_COOKIE when one comes back for another namespace, so one cookie per point (as go-waku keeps) breaks
 * incremental discovery. The jar is bounded (see bounded-lru.ts) so that a client talking to many points or
 * namespaces, or a point sending huge cookies, cannot grow it without limit.
 */
import { boundedLru } from './bounded-lru.ts'
import type QuickLRU from 'quick-lru'

/**
 * Cookies longer than this are not kept (they are still returned to the caller). Every known server's cookies
 * are far shorter: 8 bytes + namespace (Rust, ours), 40 (Go), a small protobuf (Nim).
 */
export const MAX_KEPT_COOKIE_LENGTH = 4096

// namespaces cannot contain NUL (see protocol/namespace.ts) nor be empty, so `<point>\0` is the "all" key and
// no namespace key of one point is a prefix of another point's keys
const SEPARATOR = '\u0000'

function keyOf (pointId: string, namespace?: string): string {
  return `${pointId}${SEPARATOR}${namespace ?? ''}`
}

export class CookieJar {
  private readonly cookies: QuickLRU<string, Uint8Array>

  constructor (maxCookies: number) {
    this.cookies = boundedLru(maxCookies)
  }

  /** Cookies held now (counted one by one: quick-lru's own `size` tops out at its generation size) */
  get size (): number {
    return [...this.cookies.keys()].length
  }

  get (pointId: string, namespace?: string): Uint8Array | undefined {
    return this.cookies.get(keyOf(pointId, namespace))
  }

  /** Keeps `cookie` for the pair; an empty or oversized cookie removes what was kept instead */
  set (pointId: string, namespace: string | undefined, cookie: Uint8Array): void {
    const key = keyOf(pointId, namespace)

    if (cookie.byteLength === 0 || cookie.byteLength > MAX_KEPT_COOKIE_LENGTH) {
      this.cookies.delete(key)
      return
    }

    this.cookies.set(key, cookie)
  }

  /** Forgets the cookie of one namespace (or of "all" when `namespace` is undefined) at a point */
  delete (pointId: string, namespace?: string): void {
    this.cookies.delete(keyOf(pointId, namespace))
  }

  /** Forgets every cookie kept for a point */
  deletePoint (pointId: string): void {
    const prefix = `${pointId}${SEPARATOR}`

    for (const key of [...this.cookies.keys()]) {
      if (key.startsWith(prefix)) {
        this.cookies.delete(key)
      }
    }
  }

  clear (): void {
    this.cookies.clear()
  }
}
