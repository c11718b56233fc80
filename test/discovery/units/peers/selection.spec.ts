import { PeerSet } from '@libp2p/peer-collections'
import { expect } from 'aegir/chai'
import { Rings, closestFirst, compareXor, dhtKey, planDials } from '../../../../src/discovery/peers/selection.ts'
import { seededRandom } from '../stubs/fake-clock.ts'
import { peerIds } from '../stubs/peers.ts'
import type { Candidate } from '../../../../src/discovery/peers/candidates.ts'
import type { DialPlanInput } from '../../../../src/discovery/peers/selection.ts'
import type { PeerId } from '@libp2p/interface'

const NOW = 1_000_000

function members (peers: PeerId[], since = NOW): Candidate[] {
  return peers.map(peerId => ({ peerId, expiresAt: NOW + 60_000, since }))
}

function plan (self: PeerId, peers: PeerId[], overrides: Partial<DialPlanInput> = {}): PeerId[] {
  return planDials({
    self,
    mode: 'ring',
    quota: 6,
    deficit: 6,
    members: members(peers),
    have: new PeerSet(),
    dialable: () => true,
    backedOff: () => false,
    now: NOW,
    inboundGrace: 1000,
    random: seededRandom(),
    ...overrides
  }).targets
}

describe('peer selection', () => {
  let peers: PeerId[]

  before(async () => {
    peers = await peerIds(20)
  })

  describe('rings', () => {
    it('gives every node of a swarm that sees everyone about three peers to dial and as many that dial it, with no pair dialing both ways', () => {
      // ten different swarms of ten
      for (let offset = 0; offset <= 10; offset++) {
        const swarm = peers.slice(offset, offset + 10)
        const dials = new Map<string, string[]>()

        for (const node of swarm) {
          dials.set(node.toString(), plan(node, swarm.filter(p => !p.equals(node))).map(p => p.toString()))
        }

        let edges = 0

        for (const [from, targets] of dials) {
          for (const to of targets) {
            expect(dials.get(to)).to.not.include(from, `swarm ${offset}: both ends would dial each other`)
            edges++
          }
        }

        // each node reaches 6 peers: those it dials and those that dial it
        for (const node of swarm) {
          const id = node.toString()
          const neighbours = new Set([...(dials.get(id) ?? []), ...[...dials].filter(([, t]) => t.includes(id)).map(([from]) => from)])
          expect(neighbours.size).to.be.within(6, 7, `swarm ${offset}: ${id} has ${neighbours.size}`)
        }

        // half the quota each, as the floor's 3 per node, and a little more where rings overlap
        expect(edges / swarm.length).to.be.within(3, 3.3, `swarm ${offset}`)
      }
    })

    it('lists each ring\'s first successor before anyone\'s second, and links each member to its ring neighbours', () => {
      const self = peers[0]
      const rings = new Rings(peers.slice(0, 10), 6)
      const successors = rings.successors(self)
      const first = new PeerSet([0, 1, 2].map(ring => rings.at(self, ring, 1)))
      expect(successors.slice(0, first.size).every(p => first.has(p))).to.be.true()
      expect(new PeerSet(successors).size).to.equal(9)

      const links = rings.links(self)
      const linksOf = (peer: PeerId): string[] => rings.links(peer).map(String)
      expect(links.length + rings.extras(self).length).to.equal(6)
      expect(links.every(p => linksOf(p).includes(self.toString()))).to.be.true('links are symmetric')
      expect(links.every(p => rings.dials(self, p) !== rings.dials(p, self))).to.be.true('each link is dialed by one end')
    })

    it('waits for a neighbour seen a moment ago to dial, and dials it once the grace is over', () => {
      const self = peers[0]
      const others = peers.slice(1, 10)
      const rings = new Rings([self, ...others], 6)
      const theirs = [...rings.links(self), ...rings.extras(self)].filter(p => rings.dials(p, self))
      expect(theirs.length).to.be.greaterThan(0)

      const fresh = planDials({ self, mode: 'ring', quota: 6, deficit: 6, members: members(others), have: new PeerSet(), dialable: () => true, backedOff: () => false, now: NOW, inboundGrace: 1000, random: seededRandom() })
      expect(fresh.expected).to.equal(theirs.length)
      expect(fresh.recheckAt).to.equal(NOW + 1000)
      expect(fresh.targets.some(p => theirs.some(e => e.equals(p)))).to.be.false()
      expect(fresh.targets).to.have.lengthOf(6 - theirs.length)

      const late = planDials({ self, mode: 'ring', quota: 6, deficit: 6, members: members(others), have: new PeerSet(), dialable: () => true, backedOff: () => false, now: NOW + 1000, inboundGrace: 1000, random: seededRandom() })
      expect(late.expected).to.equal(0)
      expect(late.targets).to.have.lengthOf(6)
      expect(theirs.every(p => late.targets.some(t => t.equals(p)))).to.be.true('the silent neighbours are dialed too')
    })

    it('dials nobody it has already, nobody it may not dial, and no more than the deficit', () => {
      const self = peers[0]
      const others = peers.slice(1, 10)
      const have = new PeerSet(others.slice(0, 2))
      const blocked = new PeerSet(others.slice(2, 4))
      const targets = plan(self, others, { deficit: 2, have, dialable: (p) => !blocked.has(p) })

      expect(targets).to.have.lengthOf.at.most(2)
      expect(targets.some(p => have.has(p) || blocked.has(p))).to.be.false()
    })
  })

  describe('closest', () => {
    it('orders peers by XOR distance of their SHA-256 keys, as kad-dht does', () => {
      const self = peers[0]
      const ordered = closestFirst(self, peers.slice(1))
      const target = dhtKey(self)

      for (let i = 1; i < ordered.length; i++) {
        expect(compareXor(dhtKey(ordered[i - 1]), dhtKey(ordered[i]), target)).to.be.lessThan(0)
      }
    })

    it('dials only among the quota nearest, nearest first', () => {
      const self = peers[0]
      const nearest = closestFirst(self, peers.slice(1)).slice(0, 4)
      const targets = plan(self, peers.slice(1), { mode: 'closest', quota: 4, deficit: 4 })
      expect(targets.map(String)).to.deep.equal(nearest.map(String))

      const without = plan(self, peers.slice(1), { mode: 'closest', quota: 4, deficit: 4, dialable: (p) => !p.equals(nearest[0]) })
      expect(without.map(String)).to.deep.equal(nearest.slice(1).map(String), 'a farther peer would not count: it is not dialed instead')
    })

    it('leaves a peer in dial backoff out of the ranking before cutting it to the quota, so that the next nearest is dialed instead', () => {
      const self = peers[0]
      const ordered = closestFirst(self, peers.slice(1))
      const gone = new PeerSet(ordered.slice(0, 2))
      const targets = plan(self, peers.slice(1), { mode: 'closest', quota: 2, deficit: 2, dialable: (p) => !gone.has(p), backedOff: (p) => gone.has(p) })
      expect(targets.map(String)).to.deep.equal(ordered.slice(2, 4).map(String))
    })

    it('dials nearer peers even at quota, to replace the farther ones it holds', () => {
      const self = peers[0]
      const ordered = closestFirst(self, peers.slice(1))
      const have = new PeerSet(ordered.slice(2, 4))
      const targets = plan(self, peers.slice(1), { mode: 'closest', quota: 2, deficit: 0, have, dialable: (p) => !have.has(p) })
      expect(targets.map(String)).to.deep.equal(ordered.slice(0, 2).map(String))
    })
  })

  it('picks relays at random among the candidates', () => {
    const self = peers[0]
    const a = plan(self, peers.slice(1), { mode: 'random', deficit: 2, random: seededRandom(1) })
    const b = plan(self, peers.slice(1), { mode: 'random', deficit: 2, random: seededRandom(2) })
    expect(a).to.have.lengthOf(2)
    expect(a.map(String)).to.not.deep.equal(b.map(String))
  })
})
