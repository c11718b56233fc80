/**
 * The cross-implementation matrix: every client {this package, rust-libp2p, go-libp2p-rendezvous} against every
 * point {the same three}, through the scenarios of matrix/scenarios.ts. Each cell passes, or fails in a way the
 * other implementation explains (matrix/known-limits.ts); a cell that fails without an explanation fails its row.
 *
 * The Rust and Go peers are built from their own libraries by test/interop/build.sh; without them the rows are
 * skipped with a message naming that command. The matrix is printed as a table and written as JSON to
 * `RENDEZVOUS_INTEROP_RESULTS` (default: beside the binaries), which .ci/run checks to know that it ran.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { expect } from 'aegir/chai'
import { IMPLEMENTATIONS, INTEROP_BIN_DIR, missingPeers, PeerProcess, stopAllPeers } from './fixtures/peer-process.ts'
import { explanationOf } from './matrix/known-limits.ts'
import { renderMatrix } from './matrix/render.ts'
import { runRow, SCENARIOS } from './matrix/scenarios.ts'
import type { Helper } from './fixtures/helpers.ts'
import type { Implementation } from './fixtures/peer-process.ts'
import type { MatrixCell } from './matrix/render.ts'

export const RESULTS_FILE = process.env.RENDEZVOUS_INTEROP_RESULTS ?? join(INTEROP_BIN_DIR, '..', 'matrix-results.json')

describe('interop: cross-implementation matrix', function () {
  this.timeout(120_000)

  const cells: MatrixCell[] = []
  const servers = new Map<Implementation, PeerProcess>()
  const missing = missingPeers()

  before(async function () {
    if (missing != null) {
      // eslint-disable-next-line no-console
      console.log(`      SKIPPED: ${missing}`)
      this.skip()
    }

    for (const implementation of IMPLEMENTATIONS) {
      servers.set(implementation, await PeerProcess.start(implementation, 'server'))
    }
  })

  after(async () => {
    await stopAllPeers()

    if (cells.length === 0) {
      return
    }

    const table = renderMatrix(cells)
    // eslint-disable-next-line no-console
    console.log(`\n${table}\n`)
    mkdirSync(dirname(RESULTS_FILE), { recursive: true })
    writeFileSync(RESULTS_FILE, JSON.stringify({ ranAt: new Date().toISOString(), scenarios: SCENARIOS, cells, table }, null, 2))
  })

  for (const serverImpl of IMPLEMENTATIONS) {
    for (const clientImpl of IMPLEMENTATIONS) {
      it(`${clientImpl} client against a ${serverImpl} point`, async () => {
        const server = servers.get(serverImpl)
        if (server == null) {
          throw new Error(`no ${serverImpl} point running`)
        }

        const helpers: Helper[] = []
        const client = await PeerProcess.start(clientImpl, 'client', server.multiaddr)

        try {
          const row = await runRow({ client, clientImpl, serverImpl, point: server.multiaddr, prefix: `${clientImpl}-${serverImpl}-${Date.now()}`, helpers })

          for (const scenario of SCENARIOS) {
            const outcome = row[scenario]
            const explanation = outcome.ok ? undefined : explanationOf(clientImpl, serverImpl, scenario)
            let result: MatrixCell['result'] = explanation != null ? 'limit' : 'FAIL'
            if (outcome.ok) {
              result = outcome.notApplicable === true ? 'n/a' : 'pass'
            }
            cells.push({
              client: clientImpl,
              server: serverImpl,
              scenario,
              result,
              detail: outcome.detail,
              explanation
            })
          }
        } finally {
          await client.stop()
          await Promise.all(helpers.map(async h => h.stop()))
        }

        const failed = cells.filter(cell => cell.client === clientImpl && cell.server === serverImpl && cell.result === 'FAIL')
        expect(failed.map(cell => `${cell.scenario}: ${cell.detail ?? ''}`), 'cells that failed without an explanation').to.be.empty()
      })
    }
  }
})
