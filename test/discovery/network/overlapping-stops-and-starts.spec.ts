/**
 * Stops and starts of the discovery module that overlap (an application restarting it while its UNREGISTERs are
 * still going out): whichever call comes last decides the state, and the points' keep-alive tags in the peer
 * store agree with it. Real nodes over `@libp2p/memory` and the real server.
 */
import { expect } from 'aegir/chai'
import delay from 'delay'
import { TAG_NAMES } from '../../../src/discovery/index.ts'
import { createPeer, createPoint, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'

describe('overlapping stops and starts of the discovery module', function () {
  this.timeout(30_000)

  let nodes: Array<PeerNode | PointNode>
  let point: PointNode
  let node: PeerNode

  beforeEach(async () => {
    point = await createPoint()
    node = await createPeer({ points: [point], pubsub: false, discovery: { dapp: 'restart', quotas: { dapp: 0 } } })
    nodes = [point, node]
    // registered: a stop has UNREGISTERs to send, and takes a few turns of the event loop
    expect(await waitFor(() => node.services.rendezvous.status.scheduler.registrations.some(r => r.registered), 5000)).to.be.true()
  })

  afterEach(async () => {
    await stopAll(nodes)
  })

  async function pointTag (): Promise<number | undefined> {
    return (await node.peerStore.get(point.peerId)).tags.get(TAG_NAMES.point)?.value
  }

  it('a start during a stop leaves the module started, the point tagged keep-alive and the node registered', async () => {
    const module = node.services.rendezvous
    const stopping = module.stop()
    await module.start()
    module.afterStart()
    await stopping
    // anything a stale stop would still do has had time to land
    await delay(300)

    expect(module.status.started).to.be.true('status says started')
    expect(await pointTag()).to.equal(100, 'the point keeps its keep-alive tag')
    expect(module.status.namespaces.map(s => s.ns)).to.deep.equal(['/dapp/restart'])
    expect(await waitFor(() => module.status.scheduler.registrations.some(r => r.registered), 5000)).to.be.true('registered again')
  })

  it('a stop, a start and a stop in a row leave it stopped and the point untagged', async () => {
    const module = node.services.rendezvous
    const first = module.stop()
    const starting = module.start()
    const last = module.stop()
    await Promise.all([first, starting, last])
    await delay(300)

    expect(module.status.started).to.be.false()
    expect(await pointTag()).to.be.undefined('no keep-alive tag left')
    expect(module.status.scheduler.registrations).to.deep.equal([])
  })

  it('two stops at once both wait for the stop to finish', async () => {
    const module = node.services.rendezvous
    let firstDone = false
    const first = module.stop().then(() => { firstDone = true })
    await module.stop()
    expect(firstDone).to.be.true('the second stop returned before the first finished')
    await first
    expect(await pointTag()).to.be.undefined()
  })
})
