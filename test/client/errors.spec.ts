/**
 * Every error a client request ends with names the request (REGISTER, DISCOVER or UNREGISTER and its namespace) and
 * the point (peer id and address), keeps the original error as `cause`, and keeps the class, `name`, `code`,
 * `status` and `retryable` that callers and the discovery module check. Real nodes: TCP on 127.0.0.1 for a point
 * that refuses connections, the memory transport and the real server (with a store that never answers) for the
 * rest, and a scripted point for answers our server never gives.
 */
import { createServer } from 'node:net'
import { TimeoutError } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../src/client/index.ts'
import { inContext } from '../../src/client/request-errors.ts'
import { isRequestError } from '../../src/discovery/points/point-health.ts'
import { InvalidResponseError, NoAddressesError, RendezvousError } from '../../src/errors.ts'
import { Message } from '../../src/pb/rendezvous.ts'
import { rendezvousServer } from '../../src/server/index.ts'
import { createTestNode } from '../fixtures/memory-node.ts'
import { HangingStore } from '../fixtures/slow-store.ts'
import { fail, startFakeServer } from './fixtures/fake-server.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import type { RendezvousClient } from '../../src/client/index.ts'
import type { Libp2p } from '@libp2p/interface'

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>

const { ResponseStatus } = Message

/**
 * A point whose store hangs answers E_UNAVAILABLE at 80% of its timeout: past the client's (1 s), and not much later,
 * since the point's stop() waits for its requests in flight
 */
const POINT_TIMEOUT_MS = 2000

/** A TCP port on 127.0.0.1 that nothing listens on */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise(resolve => server.close(resolve))
  return port
}

/** The error `promise` rejects with */
async function errorOf (promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

describe('client errors: which point, which request', function () {
  this.timeout(20_000)

  let nodes: Libp2p[] = []

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  async function client (init = {}): Promise<ClientNode> {
    const node: ClientNode = await createNode({ rendezvous: rendezvousClient({ timeout: 1000, ...init }) })
    nodes.push(node)
    return node
  }

  it('names the request and the point of a point that refuses connections, keeping the dial error as cause and its code', async () => {
    const node: ClientNode = await createTestNode({
      addresses: { listen: [] },
      transports: [tcp()],
      services: { rendezvous: rendezvousClient() }
    }) as any
    nodes.push(node)
    const peer = await createNode()
    nodes.push(peer)
    const port = await closedPort()
    const point = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peer.peerId.toString()}`)

    const errors = [
      await errorOf(node.services.rendezvous.discover(point, 'chat')),
      await errorOf(node.services.rendezvous.register(point, 'chat', { multiaddrs: [multiaddr('/ip4/192.0.2.1/tcp/4001')] })),
      await errorOf(node.services.rendezvous.unregister(point, 'chat')),
      await errorOf(node.services.rendezvous.discover(point))
    ]

    expect(errors.map(err => err.message.split(':')[0])).to.deep.equal([
      `DISCOVER "chat" at rendezvous point ${peer.peerId.toString()} (/ip4/127.0.0.1/tcp/${port})`,
      `REGISTER "chat" at rendezvous point ${peer.peerId.toString()} (/ip4/127.0.0.1/tcp/${port})`,
      `UNREGISTER "chat" at rendezvous point ${peer.peerId.toString()} (/ip4/127.0.0.1/tcp/${port})`,
      `DISCOVER of all namespaces at rendezvous point ${peer.peerId.toString()} (/ip4/127.0.0.1/tcp/${port})`
    ])

    for (const err of errors) {
      expect(err.message).to.include(`ECONNREFUSED 127.0.0.1:${port}`)
      expect(err.code).to.equal('ECONNREFUSED')
      expect(err.cause).to.be.an.instanceOf(Error)
      expect(err.cause.message).to.not.include('rendezvous point')
      expect(err.cause.code).to.equal('ECONNREFUSED')
      // the discovery module backs the point off for it
      expect(isRequestError(err)).to.be.false()
    }
  })

  it('names the request and the point of a timeout, still a TimeoutError, with the connection\'s address for a point named by peer id', async () => {
    const point = await createNode({ rendezvous: rendezvousServer({ store: new HangingStore(), timeout: POINT_TIMEOUT_MS }) })
    nodes.push(point)
    const alice = await client()
    await alice.dial(point.getMultiaddrs())

    const err = await errorOf(alice.services.rendezvous.register(point.peerId, 'chat'))

    expect(err).to.be.an.instanceOf(TimeoutError)
    expect(err.name).to.equal('TimeoutError')
    expect(err.message).to.equal(`REGISTER "chat" at rendezvous point ${point.peerId.toString()} (${point.getMultiaddrs()[0].toString().replace(`/p2p/${point.peerId.toString()}`, '')}): no reply within 1000 ms`)
  })

  it('names the request and the point of a refusal, keeping RendezvousError, its status and whether it is worth retrying', async () => {
    const point = await createNode()
    nodes.push(point)
    await startFakeServer(point, request => request.register != null ? fail.register(ResponseStatus.E_NOT_AUTHORIZED, 'go away') : fail.discover(ResponseStatus.E_UNAVAILABLE))
    const alice = await client()
    const addrs = point.getMultiaddrs()
    const where = `at rendezvous point ${point.peerId.toString()} (${addrs[0].toString().replace(`/p2p/${point.peerId.toString()}`, '')})`

    const refused = await errorOf(alice.services.rendezvous.register(addrs, 'chat'))
    expect(refused).to.be.an.instanceOf(RendezvousError)
    expect(refused).to.include({ status: ResponseStatus.E_NOT_AUTHORIZED, code: 200, retryable: false })
    expect(refused.message).to.equal(`REGISTER "chat" ${where}: refused with E_NOT_AUTHORIZED (go away)`)
    expect(isRequestError(refused)).to.be.true()

    const busy = await errorOf(alice.services.rendezvous.discover(addrs, 'chat'))
    expect(busy).to.be.an.instanceOf(RendezvousError)
    expect(busy).to.include({ status: ResponseStatus.E_UNAVAILABLE, code: 400, retryable: true })
    expect(busy.message).to.equal(`DISCOVER "chat" ${where}: refused with E_UNAVAILABLE`)
    // a point that answers is up, whatever it answers: the refusal backs off this request, not the point (issue 20
    // item 11: rust-libp2p answers E_UNAVAILABLE past its cap of registrations per peer)
    expect(isRequestError(busy)).to.be.true()
  })

  it('names the request and the point of a reset stream, keeping InvalidResponseError and the stream\'s error as cause', async () => {
    const point = await createNode()
    nodes.push(point)
    await startFakeServer(point, () => 'reset')
    const alice = await client()

    const err = await errorOf(alice.services.rendezvous.discover(point.getMultiaddrs(), 'chat'))

    expect(err).to.be.an.instanceOf(InvalidResponseError)
    expect(err.message).to.match(new RegExp(`^DISCOVER "chat" at rendezvous point ${point.peerId.toString()} \\(/memory/[^)]+\\): no valid reply \\(.+\\)$`))
    expect(err.cause.name).to.equal('StreamResetError')
  })

  it('names the request and the point of a request its caller aborted, still an AbortError with the reason as cause', async () => {
    const point = await createNode({ rendezvous: rendezvousServer({ store: new HangingStore(), timeout: POINT_TIMEOUT_MS }) })
    nodes.push(point)
    const alice = await client({ timeout: 10_000 })
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 200)

    const err = await errorOf(alice.services.rendezvous.discover(point.getMultiaddrs(), 'chat', { signal: controller.signal }))

    expect(err.name).to.equal('AbortError')
    expect(err.message).to.match(/^DISCOVER "chat" at rendezvous point /)
    expect(err.cause).to.equal(controller.signal.reason)
  })

  it('names the request and the point when the node has no address to register', async () => {
    const point = await createNode({ rendezvous: rendezvousServer() })
    nodes.push(point)
    const alice = await client()

    const err = await errorOf(alice.services.rendezvous.register(point.getMultiaddrs(), 'chat', { multiaddrs: [] }))

    expect(err).to.be.an.instanceOf(NoAddressesError)
    expect(err.message).to.match(new RegExp(`^REGISTER "chat" at rendezvous point ${point.peerId.toString()} .*: this node has no addresses to register`))
  })

  it('says in words what a browser\'s failed WebSocket gave, a bare error Event, and keeps it as cause', () => {
    // a browser's WebSocket fails with an Event that carries no cause (only the console names it): the message must
    // not read "[object Event]" (issue 20 item 20)
    const event = new Event('error')
    const err = inContext(event, 'DISCOVER "chat" at rendezvous point 12D3KooW')
    expect(err.message).to.equal('DISCOVER "chat" at rendezvous point 12D3KooW: the connection failed (an \'error\' event without detail: the browser\'s console names the cause)')
    expect(err.cause).to.equal(event)
  })
})
