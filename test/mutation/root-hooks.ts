/**
 * Mocha root hooks for mutation testing (stryker.config.mjs), set up once on the whole tree of suites.
 *
 * Code that runs in a `before` hook is counted as covered by the first test of that describe. Stryker's mocha runner
 * records which test covers a mutant by the test whose `beforeEach` ran last, so a `before` hook's code (a node
 * started once for a describe) would be put on the last test of the describe before it, and a mutant there would
 * then be run against a test that never reaches it: a false survivor. The first test of the describe runs the hook
 * again, whatever grep Stryker gives mocha.
 *
 * Tests and hooks that set no timeout of their own get `MUTANT_TEST_TIMEOUT_MS`. Stryker turns mocha's timeout off
 * and ends a run only at its own deadline, which grows with every test that covers the mutant (a minute and more for
 * the server's request path), then restarts the worker; a mutant that makes a request hang fails its test here in
 * seconds instead, which counts as killed all the same.
 */

/** Stryker's instrumenter keeps its state on this global (its default namespace) */
const STRYKER_GLOBAL = '__stryker__'

/** The slowest of these specs without a timeout of their own takes about 2 s (aegir gives each 60 s) */
const MUTANT_TEST_TIMEOUT_MS = 10_000

interface Runnable { timeout(): number, timeout(ms: number): void }
interface Test extends Runnable { fullTitle(): string }
interface Suite {
  tests: Test[]
  suites: Suite[]
  _beforeAll: Runnable[]
  _beforeEach: Runnable[]
  _afterEach: Runnable[]
  _afterAll: Runnable[]
  beforeAll(title: string, fn: () => void): void
}

function firstTest (suite: Suite): Test | undefined {
  return suite.tests[0] ?? suite.suites.map(firstTest).find(test => test != null)
}

/** Puts, in front of the suite's `before` hooks, one that names the suite's first test as the current test */
function attributeBeforeHooks (suite: Suite): void {
  const test = firstTest(suite)

  if (test == null || suite._beforeAll.length === 0) {
    return
  }

  const title = test.fullTitle()
  suite.beforeAll('stryker: coverage of this before hook goes to the first test', () => {
    const stryker = (globalThis as Record<string, any>)[STRYKER_GLOBAL]

    if (stryker != null) {
      stryker.currentTestId = title
    }
  })
  // beforeAll appends: move it in front of the suite's own hooks
  const added = suite._beforeAll.pop()

  if (added != null) {
    suite._beforeAll.unshift(added)
  }
}

function boundTimeouts (suite: Suite): void {
  for (const runnable of [...suite.tests, ...suite._beforeAll, ...suite._beforeEach, ...suite._afterEach, ...suite._afterAll]) {
    if (runnable.timeout() === 0) {
      runnable.timeout(MUTANT_TEST_TIMEOUT_MS)
    }
  }
}

function prepare (suite: Suite): void {
  boundTimeouts(suite)
  attributeBeforeHooks(suite)
  suite.suites.forEach(prepare)
}

/** The root suite lives as long as the worker, and mocha runs it once per mutant: prepare it once */
const prepared = new WeakSet<Suite>()

export const mochaHooks = {
  beforeAll (this: { test?: { parent?: Suite } }): void {
    const root = this.test?.parent

    if (root != null && !prepared.has(root)) {
      prepared.add(root)
      root.suites.forEach(prepare)
    }
  }
}
