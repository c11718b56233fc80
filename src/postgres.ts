/**
 * @packageDocumentation
 *
 * A registration store on PostgreSQL for the rendezvous server: the servers of a fleet share one database (and
 * schema), so a registration made through one is discovered through any other and a cookie issued by one is
 * honoured by the others. Node.js only, and it needs the `postgres` package beside this one (an optional peer
 * dependency).
 *
 * @example A point whose registrations live in PostgreSQL
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { identify } from '@libp2p/identify'
 * import { rendezvousServer } from 'libp2p-rendezvous-discovery'
 * import { postgresRegistrationStore } from 'libp2p-rendezvous-discovery/postgres'
 *
 * const point = await createLibp2p({
 *   // …addresses, transports, encrypters, muxers
 *   services: {
 *     identify: identify(),
 *     rendezvous: rendezvousServer({
 *       store: postgresRegistrationStore({ url: 'postgres://rendezvous:secret@db.internal:5432/rendezvous' })
 *     })
 *   }
 * })
 * ```
 */

export { postgresRegistrationStore } from './server/store/postgres-store.ts'
export type { PostgresRegistrationStoreInit } from './server/store/postgres-store-options.ts'
