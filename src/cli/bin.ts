#!/usr/bin/env node
/**
 * The `rendezvous-server` executable. Everything is in main.ts; this file only checks the runtime first, because
 * libp2p v3 needs Node.js 22 and fails late and obscurely on older ones: the command says so in one line and exits
 * with status 1 before it loads anything else.
 */
import { runtimeProblem } from '../supported-runtime.ts'

const problem = runtimeProblem(process.versions.node)

if (problem != null) {
  // eslint-disable-next-line no-console
  console.error(`rendezvous-server: ${problem}`)
  process.exit(1)
}

const { main } = await import('./main.ts')
const code = await main(process.argv.slice(2))
// exit now rather than wait for handles (metrics timers, sockets in TIME_WAIT) that would only delay it
process.exit(code)
