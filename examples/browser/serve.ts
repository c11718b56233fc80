/**
 * Runs the browser example on 127.0.0.1 (see example-server.ts): a rendezvous point, two relays and the page.
 *
 * Start it with `npm run example:browser` (or `PORT=8080 npx node --experimental-transform-types
 * examples/browser/serve.ts`), then open the printed address in one or more tabs. Ctrl-C stops it all.
 */

/* eslint-disable no-console */

import { startExample } from './example-server.ts'

const dapp = process.env.DAPP ?? 'demo'
const topic = process.env.TOPIC ?? `${dapp}-chat`
const example = await startExample({ port: Number(process.env.PORT ?? 8080), dapp, topic })

console.log(`bundled app.ts in ${example.bundleMs} ms (${Math.round(example.bundleBytes / 1024)} KiB)`)
console.log(`rendezvous point: ${example.pointAddr}`)
example.relays.forEach((relay, i) => { console.log(`relay ${i + 1}:          ${relay.getMultiaddrs()[0]}`) })
console.log(`\nopen ${example.url} in one or more tabs (dapp "${dapp}", topic "${topic}")`)

process.once('SIGINT', () => {
  console.log('\nstopping')
  example.stop().finally(() => process.exit(0))
})
