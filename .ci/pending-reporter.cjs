/**
 * mocha's spec reporter, printing exactly what it prints, that also writes the full title of every pending
 * (skipped) test, one per line, to the file named by RENDEZVOUS_PENDING_LOG. `.ci/run` gives it to `npm test`
 * and fails on a pending test that is not on its list of expected skips: the spec output alone shows a skipped
 * test as an indented `- title`, without its suite, among lines the tests print themselves.
 */
'use strict'

const { appendFileSync } = require('node:fs')
const { Runner, reporters } = require('mocha')

class PendingReporter extends reporters.Spec {
  constructor (runner, options) {
    super(runner, options)
    const file = process.env.RENDEZVOUS_PENDING_LOG

    if (file != null && file !== '') {
      runner.on(Runner.constants.EVENT_TEST_PENDING, test => {
        appendFileSync(file, `${test.fullTitle()}\n`)
      })
    }
  }
}

module.exports = PendingReporter
