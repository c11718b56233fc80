/**
 * Who counts towards a quota, whoever dialed whom: pure function of the connections, the registrants, pubsub's
 * view and the clock.
 */
import { PeerMap } from '@libp2p/peer-collections'
import { expect } from 'aegir/chai'
import { countPeers } from '../../../../src/discovery/peers/counting.ts'
import { closestFirst } from '../../../../src/discovery/peers/selection.ts'
import { peerIds } from '../stubs/peers.ts'
import type { NamespaceSpec } from '../../../../src/discovery/options.ts'
import type { Candidate } from '../../../../src/discovery/peers/candidates.ts'
import type { CountInput } from '../../../../src/discovery/peers/counting.ts'
import type { PeerId } from '@libp2p/interface'

const NOW = 1_000_000
const GRACE = 5000

const topic: NamespaceSpec = { ns: 'floodsub:t', kind: 'topic', topic: 't', register: true, discover: true, quota: 3 }
const dapp: NamespaceSpec = { ns: '/dapp/x', kind: 'dapp', register: true, discover: true, quota: 2 }

describe('counting peers towards a quota', () => {
  let self: PeerId
  let peers: PeerId[]

  before(async () => {
    [self, ...peers] = await peerIds(9)
  })

  const member = (peerId: PeerId): Candidate => ({ peerId, expiresAt: NOW + 60_000, since: NOW - 1000 })
  const ids = (list: PeerId[] | undefined): string[] => (list ?? []).map(String)

  function input (spec: NamespaceSpec, connected: Array<[PeerId, number]>, more: Partial<CountInput> = {}): CountInput {
    const map = new PeerMap<number>()
    connected.forEach(([peer, openedAt]) => { map.set(peer, openedAt) })
    return { self, spec, connected: map, members: [], subscribers: [], kept: [], now: NOW, countGrace: GRACE, ...more }
  }

  it('counts a topic peer once pubsub lists it, whoever dialed, registrant or not', () => {
    const [registrant, stranger, notConnected] = peers
    const count = countPeers(input(topic, [[registrant, NOW - 100], [stranger, NOW - 100]], {
      members: [member(registrant)],
      subscribers: [registrant, stranger, notConnected]
    }))

    expect(ids(count.counted)).to.deep.equal(ids([registrant, stranger]))
    expect(count.arriving).to.deep.equal([])
  })

  it('holds a place for a connected registrant that pubsub does not list yet, for countGrace after its connection opened', () => {
    const [early, fresh, other] = peers
    const count = countPeers(input(topic, [[early, NOW - GRACE], [fresh, NOW - 1000], [other, NOW - 10]], {
      members: [member(early), member(fresh)]
    }))

    expect(count.counted).to.deep.equal([])
    expect(ids(count.arriving)).to.deep.equal(ids([fresh]), 'past its grace it is not expected any more; a non-registrant never is')
    expect(count.arrivingUntil).to.equal(NOW - 1000 + GRACE)
  })

  it('counts connected registrants of other namespaces, and a kept peer while it stays connected after its registration ran out', () => {
    const [a, b, kept, gone] = peers
    const count = countPeers(input(dapp, [[a, NOW], [b, NOW], [kept, NOW]], {
      members: [member(a), member(gone)],
      kept: [kept, gone]
    }))

    // the kept peers first, so that tags do not hop from peer to peer between counts
    expect(ids(count.counted)).to.deep.equal(ids([kept, a]))
  })

  it('counts the quota nearest of the connected registrants for a closest namespace, whether nearer ones are known or not', () => {
    const spec: NamespaceSpec = { ...dapp, kind: 'user', selection: 'closest', quota: 2 }
    const ordered = closestFirst(self, peers.slice(0, 6))
    const [, second, third, fourth] = ordered

    // the nearest is not connected (gone, or being dialed): it takes nobody's place
    const count = countPeers(input(spec, [[second, NOW], [third, NOW], [fourth, NOW]], { members: ordered.map(member) }))
    expect(ids(count.counted)).to.deep.equal(ids([second, third]))
  })
})
