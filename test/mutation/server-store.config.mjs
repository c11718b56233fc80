/** `npm run mutation:server:store`: src/server/store's mutants against test/server/store's specs (PostgreSQL's with RENDEZVOUS_TEST_POSTGRES_URL) */
import { folderConfig, withoutPostgres } from './folder.mjs'

export default folderConfig('server-store', withoutPostgres(['src/server/store/*.ts']), ['test/server/store/*.spec.ts'])
