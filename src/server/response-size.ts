/**
 * What a DISCOVER_RESPONSE costs in bytes besides its records and namespaces. DISCOVER cuts pages with these
 * bounds rather than encoding twice, and the options check uses them to make sure that the largest record the
 * server accepts fits in a response on its own: a registration that no page can carry would stop paging of its
 * namespace for good.
 */

/** Upper bound of the bytes a registration adds to a response besides its namespace and record: field tags, length varints and a ttl varint */
export const REGISTRATION_OVERHEAD = 24

/** Upper bound of the response's own fields: type, status, statusText, cookie */
export const RESPONSE_OVERHEAD = 128

/** The largest record that fits in a response of `maxResponseSize` bytes, alone, in a namespace of `maxNamespaceLength` bytes */
export function largestRecordInResponse (maxResponseSize: number, maxNamespaceLength: number): number {
  return maxResponseSize - RESPONSE_OVERHEAD - REGISTRATION_OVERHEAD - maxNamespaceLength
}
