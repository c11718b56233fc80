/**
 * The cookies a client keeps between DISCOVERs, one per (rendezvous point, namespace or "all").
 *
 * Cookies belong to the server that issued them and to the namespace they were issued for: Go and Rust answer
 * E_INVALID_COOKIE when one comes back for another namespace, so one cookie per point (as go-waku keeps) breaks
 * incremental discovery. The jar is bounded so that a client talking to many points or namespaces, or a point
 * sending huge cookies, cannot grow it without limit.
 */

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
  private readonly cookies = new Map<string, Uint8Array>()
  private readonly maxCookies: number

  constructor (maxCookies: number) {
    this.maxCookies = Math.max(1, maxCookies)
  }

  get size (): number {
    return this.cookies.size
  }

  get (pointId: string, namespace?: string): Uint8Array | undefined {
    return this.cookies.get(keyOf(pointId, namespace))
  }

  /** Keeps `cookie` for the pair; an empty or oversized cookie removes what was kept instead */
  set (pointId: string, namespace: string | undefined, cookie: Uint8Array): void {
    const key = keyOf(pointId, namespace)
    // delete first so that the Map's insertion order is the order of last use
    this.cookies.delete(key)

    if (cookie.byteLength === 0 || cookie.byteLength > MAX_KEPT_COOKIE_LENGTH) {
      return
    }

    this.cookies.set(key, cookie)

    while (this.cookies.size > this.maxCookies) {
      const oldest = this.cookies.keys().next().value

      if (oldest == null) {
        break
      }

      this.cookies.delete(oldest)
    }
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
