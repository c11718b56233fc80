/**
 * A connection URL as the command prints it (in its startup lines and its messages): without the password, which
 * logs and terminals must not keep.
 */

/** Hides the password of a connection URL, for printing */
export function redactUrl (url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@')
}
