/**
 * A REGISTER lost to a transport fault at a point of ours must not turn a JS client into a Rust reader there: a
 * legacy record taken by our point makes it serve the client only legacy records, which hides every JS peer. Real
 * nodes over the memory transport and the real server; the faults are real too: the point resets the stream of the
 * first REGISTER after reading it, or closes the connection while the REGISTER waits in its store. With and
 * without identify on the client (without it, the point's agent is never known and only the way the stream failed
 * can tell).
 */
import { lpStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../src/client/index.ts'
import { PROTOCOL } from '../../src/constants.ts'
import { peerRecordFormatOf } from '../../src/protocol/peer-record.ts'
import { MemoryRegistrationStore, rendezvousServer } from '../../src/server/index.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import type { RendezvousClient } from '../../src/client/index.ts'
import type { RendezvousServerService } from '../../src/server/index.ts'
import type { RegisterInput, RegisterLimits, RegisterOutcome } from '../../src/server/store/registration-store.ts'
import type { Libp2p, StreamHandler } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type ClientNode = Libp2p<{ rendezvous: RendezvousClient }>
type PointNode = Libp2p<{ rendezvous: RendezvousServerService }>

/** The memory store, running a hook before the first REGISTER it is given */
class HookedStore extends MemoryRegistrationStore {
  beforeRegister?: () => Promise<void>

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    const hook = this.beforeRegister
    this.beforeRegister = undefined
    await hook?.()
    return super.register(input, limits, now)
  }
}

/** Makes the point reset the stream of the next `count` rendezvous requests, after reading each, before any reply */
async function resetNextStreams (point: Libp2p, count: number): Promise<void> {
  const { handler, options } = (point as any).components.registrar.getHandler(PROTOCOL) as { handler: StreamHandler, options: any }
  let left = count
  await point.unhandle(PROTOCOL)
  await point.handle(PROTOCOL, async (stream, connection) => {
    if (left-- <= 0) {
      await handler(stream, connection)
      return
    }

    await lpStream(stream).read()
    stream.abort(new Error('a transport fault'))
  }, options)
}

describe('client: a REGISTER lost at our own point', function () {
  this.timeout(20_000)

  let nodes: Libp2p[] = []

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  async function point (store = new MemoryRegistrationStore()): Promise<{ node: PointNode, addrs: Multiaddr[] }> {
    const node: PointNode = await createNode({ rendezvous: rendezvousServer({ store }) })
    nodes.push(node)
    return { node, addrs: node.getMultiaddrs() }
  }

  async function client (identify: boolean): Promise<ClientNode> {
    const node: ClientNode = await createNode({ rendezvous: rendezvousClient({ timeout: 3000 }) }, { identify })
    nodes.push(node)
    return node
  }

  /** Registers until it works, twice at most: the request that met the fault may fail, the next may not */
  async function registerAfterFault (node: ClientNode, addrs: Multiaddr[], ns: string): Promise<void> {
    try {
      await node.services.rendezvous.register(addrs, ns)
    } catch {
      await node.services.rendezvous.register(addrs, ns)
    }
  }

  /** Checks that the point holds standard records only, and that `alice` sees both peers there */
  async function expectBothSeenInStandard (alice: ClientNode, bob: ClientNode, addrs: Multiaddr[], ns: string): Promise<void> {
    const { registrations } = await alice.services.rendezvous.discover(addrs, ns, { cookie: null })
    expect(registrations.map(r => r.peerId.toString()).sort(), 'peers alice sees').to.deep.equal([alice.peerId.toString(), bob.peerId.toString()].sort())
    expect(registrations.map(r => peerRecordFormatOf(r.signedPeerRecord)), 'formats of the records').to.deep.equal(['standard', 'standard'])
  }

  for (const identify of [true, false]) {
    const agent = identify ? 'with identify' : 'without identify (no agent known)'

    it(`stays on standard records when the point resets its first REGISTER stream before the reply, and sees the other JS peer (${agent})`, async () => {
      const { node, addrs } = await point()
      const alice = await client(identify)
      const bob = await client(true)
      await resetNextStreams(node, 1)

      await registerAfterFault(alice, addrs, 'ns')
      await bob.services.rendezvous.register(addrs, 'ns')
      await expectBothSeenInStandard(alice, bob, addrs, 'ns')

      // and its next REGISTER, in another namespace, is standard too
      await alice.services.rendezvous.register(addrs, 'other')
      const { registrations } = await bob.services.rendezvous.discover(addrs, 'other', { cookie: null })
      expect(registrations.map(r => peerRecordFormatOf(r.signedPeerRecord))).to.deep.equal(['standard'])
    })

    it(`stays on standard records when the point closes the connection while a REGISTER waits in its store (${agent})`, async () => {
      const store = new HookedStore()
      const { node, addrs } = await point(store)
      const alice = await client(identify)
      const bob = await client(true)
      store.beforeRegister = async () => {
        await node.hangUp(alice.peerId)
      }

      await registerAfterFault(alice, addrs, 'ns')
      await bob.services.rendezvous.register(addrs, 'ns')
      await expectBothSeenInStandard(alice, bob, addrs, 'ns')
    })
  }
})
