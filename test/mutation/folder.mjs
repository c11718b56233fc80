// @ts-nocheck the base configuration lives outside the type-checked tree (stryker.config.mjs at the root)
/**
 * One folder's mutation run (`npm run mutation:protocol`, `:client`, `:server` and its parts): the base
 * configuration (stryker.config.mjs) with that folder's sources mutated, only that folder's specs run, and reports
 * and an incremental file of its own, so that the folders can be run (and re-run with `--incremental`, which
 * re-tests only the mutants whose code or covering tests changed) one at a time. The whole tree at one worker takes
 * hours; a folder fits in a sitting (docs/development.md has the times).
 */
import base from '../../stryker.config.mjs'

const postgres = process.env.RENDEZVOUS_TEST_POSTGRES_URL != null && process.env.RENDEZVOUS_TEST_POSTGRES_URL !== ''

/**
 * `mutate` without the PostgreSQL store when RENDEZVOUS_TEST_POSTGRES_URL is not set (its specs do not run then)
 *
 * @param {string[]} mutate - source globs
 * @returns {string[]} the globs, with the PostgreSQL store's files excluded when there is no PostgreSQL
 */
export function withoutPostgres (mutate) {
  return [...mutate, ...(postgres ? [] : ['!src/server/store/postgres-*.ts'])]
}

/**
 * @param {string} name - the folder's name in report file names
 * @param {string[]} mutate - the source globs to mutate
 * @param {string[]} spec - the spec globs that may kill them
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions} the base configuration narrowed to the folder
 */
export function folderConfig (name, mutate, spec) {
  return {
    ...base,
    mutate,
    mochaOptions: { ...base.mochaOptions, spec },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    // `--reporters event-recorder` writes each mutant's result as it comes (survivors can be read during the run)
    eventReporter: { baseDir: `reports/mutation/${name}-events` },
    incrementalFile: `reports/mutation/${name}-incremental.json`
  }
}
