/**
 * Mutation testing (`npm run mutation`): Stryker changes the code of src/protocol, src/client and src/server one
 * mutant at a time and runs the fast specs that cover each mutant (unit specs and in-process real-node specs of
 * test/protocol, test/client, test/server; not the stress, interop or browser suites). A mutant no test notices is
 * a "survivor": a behaviour of the code that no test pins down. docs/development.md says how to read them.
 *
 * No build: Stryker mutates the .ts sources in a sandbox copy and mocha imports the .ts specs there directly, under
 * Node 22's type stripping (transform-types for the protons enum and namespace in src/pb/rendezvous.ts).
 */
const postgres = process.env.RENDEZVOUS_TEST_POSTGRES_URL != null && process.env.RENDEZVOUS_TEST_POSTGRES_URL !== ''

if (!postgres) {
  // eslint-disable-next-line no-console
  console.warn('RENDEZVOUS_TEST_POSTGRES_URL is not set: the PostgreSQL store (src/server/store/postgres-*.ts) is left out of the mutants and its specs do not run, so the src/server score is not comparable with docs/development.md')
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'mocha',
  mutate: [
    'src/protocol/**/*.ts',
    'src/client/**/*.ts',
    'src/server/**/*.ts',
    ...(postgres ? [] : ['!src/server/store/postgres-*.ts'])
  ],
  mochaOptions: {
    spec: [
      'test/protocol/*.spec.ts',
      'test/client/*.spec.ts',
      'test/server/*.spec.ts',
      'test/server/store/*.spec.ts'
    ],
    require: ['test/mutation/root-hooks.ts']
  },
  testRunnerNodeArgs: ['--experimental-transform-types', '--disable-warning=ExperimentalWarning'],
  coverageAnalysis: 'perTest',
  // a mutant of code that runs when a module loads (a constant, a table) has no test to cover it: Stryker would
  // restart the worker and run every spec for each (90 s), so they are left out of the score (counted as Ignored)
  ignoreStatic: true,
  appendPlugins: ['./test/mutation/log-calls-ignorer.ts'],
  ignorers: ['log-calls'],
  // one worker: the machine's other core stays free for others
  concurrency: 1,
  // real nodes and real timers: a mutant may take several seconds more than its tests did in the dry run
  timeoutMS: 10000,
  dryRunTimeoutMinutes: 15,
  ignorePatterns: ['dist', '.docs', '.coverage', 'benchmarks', 'examples', 'test/interop', 'test/browser', 'test/stress', 'reports'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 80, break: null }
}
