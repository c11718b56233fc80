/**
 * How the client picks the record format per point (src/client/point-formats.ts), step by step, on a real node's
 * peer store and connection manager: the agent identify stored for the point, what the point took before, and a
 * standard REGISTER reset by a point that keeps its connection open (as a Rust point does) against any other
 * failure. record-format.spec.ts and record-format-faults.spec.ts see the same through whole REGISTERs against
 * scripted points; these pin each decision on its own, where those see only the ones their points happen to reach.
 */
import { StreamResetError } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { PointFormats } from '../../src/client/point-formats.ts'
import { InvalidResponseError } from '../../src/errors.ts'
import { createNode, stopAll } from './fixtures/nodes.ts'
import type { ResolvedPoint } from '../../src/client/point.ts'
import type { Libp2p } from '@libp2p/interface'

/** What a REGISTER's stream reset by the point looks like to the client: its InvalidResponseError with the reset as cause */
const resetByPoint = (): Error => new InvalidResponseError('REGISTER "ns" at rendezvous point …: no valid reply (reset)', { cause: new StreamResetError('the stream was reset') })

describe('client: the record format per point', function () {
  this.timeout(20_000)

  let client: Libp2p
  let point: Libp2p

  before(async () => {
    // identify off: the agents below are the ones the tests write into the peer store
    client = await createNode(undefined, { identify: false })
    point = await createNode(undefined, { identify: false })
  })

  after(async () => {
    await stopAll([client, point])
  })

  afterEach(async () => {
    await client.hangUp(point.peerId)
    await client.peerStore.delete(point.peerId)
  })

  function formats (mode: 'auto' | 'standard' | 'legacy' = 'auto'): PointFormats {
    const components = client as any
    return new PointFormats({ peerStore: client.peerStore, connectionManager: components.components.connectionManager }, mode, 16)
  }

  /** The point named by its multiaddrs, by one multiaddr or by its peer id: the same point */
  function named (how: 'list' | 'one' | 'id' = 'list'): ResolvedPoint {
    const addrs = point.getMultiaddrs()
    const targets = { list: addrs, one: addrs[0], id: point.peerId }
    return { target: targets[how], id: point.peerId.toString() }
  }

  async function agent (value: string): Promise<void> {
    await client.peerStore.merge(point.peerId, { metadata: { AgentVersion: uint8ArrayFromString(value) } })
  }

  it('uses the format it was given whatever the point, and never changes it after a failure', async () => {
    await agent('rust-libp2p/0.55.0')
    await client.dial(point.getMultiaddrs())

    for (const mode of ['standard', 'legacy'] as const) {
      const fixed = formats(mode)
      expect(await fixed.formatFor(named())).to.equal(mode)
      expect(await fixed.afterNoReply(named(), resetByPoint(), false)).to.equal('none')
    }
  })

  it('registers standard records where nothing is known, and legacy ones at a point whose agent is rust-libp2p', async () => {
    const auto = formats()
    expect(await auto.formatFor(named())).to.equal('standard')

    await agent('rust-libp2p/0.55.0')
    for (const how of ['list', 'one', 'id'] as const) {
      expect(await auto.formatFor(named(how)), how).to.equal('legacy')
    }

    await agent('js-libp2p/3.0.0 node/22')
    expect(await auto.formatFor(named())).to.equal('standard')
  })

  it('keeps to what a point took, and forgets a legacy it took once the point\'s agent says js-libp2p', async () => {
    const auto = formats()
    auto.worked(named(), 'legacy')
    // no agent known: what it took stands
    expect(await auto.formatFor(named())).to.equal('legacy')

    // an agent that says nothing either way
    await agent('rendezvous-interop@')
    expect(await auto.formatFor(named())).to.equal('legacy')

    await agent('js-libp2p/3.0.0 node/22')
    expect(await auto.formatFor(named())).to.equal('standard')
    // forgotten, not only passed over this once
    await agent('rendezvous-interop@')
    expect(await auto.formatFor(named())).to.equal('standard')

    auto.worked(named(), 'standard')
    await agent('rust-libp2p/0.55.0')
    expect(await auto.formatFor(named()), 'a standard record the point took outweighs its agent').to.equal('standard')
  })

  it('goes legacy after a failed REGISTER at a point whose agent is rust-libp2p, whatever the failure', async () => {
    await agent('rust-libp2p/0.55.0')
    const auto = formats()

    expect(await auto.afterNoReply(named(), new Error('connection closed'), false)).to.equal('legacy')
  })

  it('takes a reset with the connection left open for a Rust point: the same REGISTER again first, then legacy', async () => {
    await client.dial(point.getMultiaddrs())
    const auto = formats()

    expect(await auto.afterNoReply(named(), resetByPoint(), false)).to.equal('standard-again')
    expect(await auto.afterNoReply(named(), resetByPoint(), true)).to.equal('legacy')
    expect(await auto.afterNoReply(named('id'), resetByPoint(), true)).to.equal('legacy')
  })

  it('changes nothing for a failure that is not such a reset, for a point whose agent is js-libp2p, or that took standard', async () => {
    const auto = formats()

    // a reset, but the connection is gone (closed with it, as a transport fault does)
    expect(await auto.afterNoReply(named(), resetByPoint(), true)).to.equal('none')

    await client.dial(point.getMultiaddrs())
    // the connection is open, but the failure is not a reset
    expect(await auto.afterNoReply(named(), new InvalidResponseError('no valid reply (EOF)', { cause: new Error('unexpected end of input') }), true)).to.equal('none')
    expect(await auto.afterNoReply(named(), new Error('no cause'), true)).to.equal('none')
    expect(await auto.afterNoReply(named(), undefined, true)).to.equal('none')

    await agent('js-libp2p/3.0.0 node/22')
    expect(await auto.afterNoReply(named(), resetByPoint(), true)).to.equal('none')

    await agent('rendezvous-interop@')
    auto.worked(named(), 'standard')
    expect(await auto.afterNoReply(named(), resetByPoint(), true)).to.equal('none')

    // forgotten: the evidence counts again
    auto.forget(named())
    expect(await auto.afterNoReply(named(), resetByPoint(), true)).to.equal('legacy')
  })
})
