/**
 * `npm run mutation:server`: src/server's mutants against test/server's specs (test/mutation/folder.mjs). Without
 * RENDEZVOUS_TEST_POSTGRES_URL the PostgreSQL store is left out, as in the base configuration. The whole folder
 * takes hours at one worker: its three parts run on their own with `mutation:server:store`, `:points` and `:core`.
 */
import { folderConfig, withoutPostgres } from './folder.mjs'

export default folderConfig('server', withoutPostgres(['src/server/**/*.ts']), ['test/server/**/*.spec.ts'])
