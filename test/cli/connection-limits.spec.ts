/**
 * One peer id could take every connection slot of the command's node: with `--max-connections 20`, one peer
 * opened 20 connections and an honest peer was refused for as long as they stayed, and idle connections were never
 * closed (issue 20, item 7). The command now limits the connections of one peer (`--max-connections-per-peer`) and,
 * while more than 90% of the slots are taken, closes inbound connections idle for `--connection-idle-timeout`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import { killAll, startCli } from './fixtures/cli-process.ts'
import { createRelayedTcpNode, createTcpClient } from './fixtures/tcp-client.ts'
import type { CliProcess } from './fixtures/cli-process.ts'
import type { ClientNode } from './fixtures/tcp-client.ts'
import type { Libp2p } from '@libp2p/interface'

// the attacker's connections all come from 127.0.0.1: libp2p's per-address rate limit must not be what stops them
const CROWDED = ['--listen', '/ip4/127.0.0.1/tcp/0', '--max-connections', '20', '--inbound-connection-threshold', '1000']

/**
 * Opens `count` new connections from `node` to the server, one after another (libp2p joins dials to one peer made
 * in parallel into one), and how many of them opened
 */
async function openConnections (node: ClientNode, server: CliProcess, count: number): Promise<number> {
  let opened = 0

  for (let i = 0; i < count; i++) {
    try {
      await node.dial(server.tcp, { force: true, signal: AbortSignal.timeout(10_000) })
      opened++
    } catch {
      // refused
    }
  }

  return opened
}

/** Registers `node` at the server, trying again while it is refused; resolves with the ms it took, or rejects at `within` */
async function getIn (node: ClientNode, server: CliProcess, within: number): Promise<number> {
  const started = performance.now()
  let last: unknown

  return pWaitFor(async () => {
    try {
      await node.services.rendezvous.register(server.tcp, 'honest', { signal: AbortSignal.timeout(5000) })
      return pWaitFor.resolveWith(performance.now() - started)
    } catch (err) {
      last = err
      return false
    }
  }, {
    interval: 200,
    timeout: { milliseconds: within, fallback: () => { throw new Error(`the honest peer could not register within ${within} ms: ${String(last)}`) } }
  })
}

describe('rendezvous-server connection limits (issue 20, item 7)', function () {
  this.timeout(120_000)

  let dir: string
  const nodes: Array<ClientNode | Libp2p> = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-connections-'))
  })

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async node => node.stop()))
    await killAll()
    await rm(dir, { recursive: true, force: true })
  })

  async function node (): Promise<ClientNode> {
    const created = await createTcpClient()
    nodes.push(created)
    return created
  }

  it('keeps one peer to --max-connections-per-peer, so that an honest peer still gets in', async () => {
    const server = await startCli([...CROWDED, '--identity', join(dir, 'id.key')])
    const attacker = await node()

    await openConnections(attacker, server, 25)

    const honest = await node()
    const took = await getIn(honest, server, 3000)
    expect(took, 'ms until the honest peer registered').to.be.below(3000)

    // what the server refused or closed is gone from the attacker's side too
    const held = attacker.getConnections().filter(connection => connection.status === 'open').length
    expect(held, 'connections the attacker holds').to.be.within(1, 4)
  })

  it('closes idle connections while the slots run short, so that an honest peer gets in', async () => {
    // one peer may hold every slot here: only the closing of idle connections can make room
    const server = await startCli([...CROWDED, '--max-connections-per-peer', '20', '--connection-idle-timeout', '1000', '--identity', join(dir, 'id.key')])
    const attacker = await node()

    expect(await openConnections(attacker, server, 20), 'connections the attacker opened').to.equal(20)

    const honest = await node()
    const took = await getIn(honest, server, 10_000)
    // 1 s idle, looked over every 250 ms, then the honest peer's next try
    expect(took, 'ms until the honest peer registered').to.be.below(5000)
  })

  it('keeps the idle connection of a peer that holds a relay reservation', async () => {
    const server = await startCli([...CROWDED, '--relay', '--max-connections-per-peer', '20', '--connection-idle-timeout', '500', '--identity', join(dir, 'id.key')])
    const listener = await createRelayedTcpNode(true)
    nodes.push(listener)
    const reservation = await listener.dial(server.tcp)
    const reserved = async (): Promise<boolean> => listener.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))
    await pWaitFor(reserved, { interval: 50, timeout: { milliseconds: 5000, fallback: () => {} } })
    expect(await reserved(), 'a reservation on the relay').to.be.true()

    const attacker = await node()
    expect(await openConnections(attacker, server, 19), 'connections the attacker opened').to.equal(19)
    // 4 idle periods: idle connections are closed until no more than 90% of the slots are taken, never the
    // reservation holder's, the oldest idle of them all
    await new Promise(resolve => setTimeout(resolve, 2000))

    expect(attacker.getConnections().filter(connection => connection.status === 'open'), 'the attacker\'s idle connections').to.have.length.below(18)
    // the same connection: a closed one would have been dialled again at once (the relay is tagged keep-alive)
    expect(reservation.status, 'the reservation holder\'s connection').to.equal('open')
    expect(listener.getConnections(peerIdFromString(server.listening.peerId)).map(connection => connection.id)).to.deep.equal([reservation.id])
  })
})
