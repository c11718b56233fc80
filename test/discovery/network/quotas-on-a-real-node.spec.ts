import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import delay from 'delay'
import { systemRuntime } from '../../../src/discovery/clock.ts'
import { resolveOptions } from '../../../src/discovery/config.ts'
import { TAG_NAMES } from '../../../src/discovery/constants.ts'
import { Demand } from '../../../src/discovery/demand.ts'
import { PeerIntake } from '../../../src/discovery/peers/peer-intake.ts'
import { Quotas } from '../../../src/discovery/peers/quotas.ts'
import { createMemoryNode } from '../../fixtures/memory-node.ts'
import { stopAll, waitFor } from './fixtures.ts'
import type { NamespaceSpec } from '../../../src/discovery/options.ts'
import type { Libp2p } from '@libp2p/interface'

const spec: NamespaceSpec = { ns: 'dialer-test', kind: 'user', register: false, discover: true, quota: 1 }

describe('quotas on a real node', () => {
  let nodes: Libp2p[]
  let dialer: Quotas | undefined

  beforeEach(() => {
    nodes = []
  })

  afterEach(async () => {
    await dialer?.stop()
    dialer = undefined
    await stopAll(nodes)
  })

  async function setup (count: number, init = {}): Promise<{ host: Libp2p, others: Libp2p[], outcomes: string[] }> {
    const host = await createMemoryNode({}, 'host')
    const others = await Promise.all(Array.from({ length: count }, async () => createMemoryNode({}, 'other')))
    nodes.push(host, ...others)

    for (const other of others) {
      await host.peerStore.merge(other.peerId, { multiaddrs: other.getMultiaddrs() })
    }

    const outcomes: string[] = []
    dialer = new Quotas((host as any).components, resolveOptions({ peerBackoff: { initial: 60_000, max: 60_000 }, ...init }), systemRuntime, {
      demand: new Demand(),
      metrics: { dial: (kind, outcome) => outcomes.push(`${kind}:${outcome}`) }
    })
    dialer.start()
    dialer.setNamespaces([spec])
    return { host, others, outcomes }
  }

  it('dials a candidate up to the quota and tags the peer it keeps, removing the tag when the namespace goes', async () => {
    const { host, others } = await setup(3)
    others.forEach(o => dialer?.addCandidate(spec.ns, o.peerId, 60))

    expect(await waitFor(() => host.getPeers().length === 1, 3000)).to.be.true()
    await delay(200)
    expect(host.getPeers()).to.have.lengthOf(1, 'one peer: the quota')
    const kept = host.getPeers()[0]
    expect(await waitFor(async () => (await host.peerStore.get(kept)).tags.get(TAG_NAMES.user)?.value === 50, 2000)).to.be.true()
    expect(dialer?.deficit(spec.ns)).to.equal(0)

    dialer?.setNamespaces([])
    dialer?.reconcile()
    expect(await waitFor(async () => !(await host.peerStore.get(kept)).tags.has(TAG_NAMES.user), 2000)).to.be.true()
  })

  it('holds dials while a discovery is still paging, then picks among all candidates', async () => {
    const { host, others } = await setup(2)
    dialer?.holdDials(spec.ns, 'point', 'paging')
    others.forEach(o => dialer?.addCandidate(spec.ns, o.peerId, 60))
    dialer?.reconcile()
    await delay(300)
    expect(host.getPeers()).to.have.lengthOf(0)

    dialer?.releaseDials(spec.ns, 'point')
    expect(await waitFor(() => host.getPeers().length === 1, 3000)).to.be.true()
  })

  it('never dials itself, and backs off a peer whose dial failed', async () => {
    const { host, outcomes } = await setup(0, { connectionHeadroom: 0 })
    const ghostKey = await generateKeyPair('Ed25519')
    const ghost = peerIdFromPrivateKey(ghostKey)
    await host.peerStore.merge(ghost, { multiaddrs: [multiaddr('/memory/nobody-listens-here')] })

    const intake = new PeerIntake(host.peerId, dialer as Quotas)
    intake.start()
    expect(intake.accept(spec.ns, [{ peerId: host.peerId, multiaddrs: [], namespace: spec.ns, ttl: 60, seqNumber: 1n, signedPeerRecord: new Uint8Array(0) }]).added).to.equal(0)
    dialer?.addCandidate(spec.ns, ghost, 60)

    expect(await waitFor(() => outcomes.includes('user:failure'), 3000)).to.be.true()
    dialer?.reconcile()
    await delay(300)
    expect(outcomes.filter(o => o === 'user:failure')).to.have.lengthOf(1, 'not dialed again while backed off')
    expect(dialer?.status().backedOff).to.equal(1)
  })

  it('dials nothing when the connection budget is spent', async () => {
    const { host, others } = await setup(2, { connectionHeadroom: 300 })
    others.forEach(o => dialer?.addCandidate(spec.ns, o.peerId, 60))
    dialer?.reconcile()
    await delay(300)

    expect(host.getPeers()).to.have.lengthOf(0)
    expect(dialer?.status().connectionLimit).to.equal(0)
  })
})
