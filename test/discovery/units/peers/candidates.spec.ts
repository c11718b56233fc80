/**
 * The pool of registrants per namespace: what is new, how long each lives, the bound, and the version that
 * tells whether what was computed from a pool (the hash rings) still holds.
 */
import { expect } from 'aegir/chai'
import { Candidates } from '../../../../src/discovery/peers/candidates.ts'
import { peerIds } from '../stubs/peers.ts'
import type { PeerId } from '@libp2p/interface'

const NOW = 1_000_000

describe('candidates', () => {
  let peers: PeerId[]

  before(async () => {
    peers = await peerIds(5)
  })

  it('says a peer is new once, keeps when it was first seen and its latest record, and forgets it when its registration runs out', () => {
    const candidates = new Candidates()
    const record = new Uint8Array([1])

    expect(candidates.add('ns', peers[0], 10, NOW, record)).to.be.true()
    expect(candidates.add('ns', peers[0], 60, NOW + 5000)).to.be.false('a refresh is not new')
    expect(candidates.get('ns', peers[0], NOW + 5000)).to.deep.include({ since: NOW, expiresAt: NOW + 65_000, record })
    expect(candidates.get('other', peers[0], NOW)).to.equal(undefined, 'pools are per namespace')

    expect(candidates.live('ns', NOW + 64_999).map(c => c.peerId.toString())).to.deep.equal([peers[0].toString()])
    expect(candidates.live('ns', NOW + 65_000)).to.deep.equal([])
    expect(candidates.add('ns', peers[0], 10, NOW + 70_000)).to.be.true('it is new again once it ran out')
    expect(candidates.get('ns', peers[0], NOW + 70_000)?.since).to.equal(NOW + 70_000)
  })

  it('forgets the peer seen least recently when a namespace holds too many', () => {
    const candidates = new Candidates(3)
    peers.slice(0, 3).forEach((peer, i) => candidates.add('ns', peer, 60, NOW + i))
    // seen again: now the most recent
    candidates.add('ns', peers[0], 60, NOW + 10)
    candidates.add('ns', peers[3], 60, NOW + 11)

    expect(candidates.live('ns', NOW + 20).map(c => c.peerId.toString())).to.deep.equal([peers[2], peers[0], peers[3]].map(String))
  })

  it('never holds more than its bound per namespace, and counts the peers it forgets as leaving', async () => {
    const many = await peerIds(25)
    const candidates = new Candidates(10)
    let version = candidates.version('ns')
    let forgotten = 0

    many.forEach((peer, i) => {
      candidates.add('ns', peer, 60, NOW + i)
      const size = candidates.live('ns', NOW + i).length
      expect(size).to.be.at.most(10)

      if (size < i + 1 - forgotten) {
        forgotten = i + 1 - size
        expect(candidates.version('ns')).to.not.equal(version, 'forgetting peers changes the version')
      }

      version = candidates.version('ns')
    })

    expect(forgotten).to.be.greaterThan(0)
    const kept = candidates.live('ns', NOW + 100).map(c => c.peerId.toString())
    expect(kept).to.include(many[24].toString(), 'the peer seen last stays')
    expect(kept).to.not.include(many[0].toString(), 'the peer seen first went')
    expect(candidates.live('other', NOW + 100)).to.deep.equal([], 'pools are per namespace')
  })

  it('changes a namespace\'s version when a peer joins or leaves its pool, not on a refresh', () => {
    const candidates = new Candidates()
    const v0 = candidates.version('ns')
    candidates.add('ns', peers[0], 10, NOW)
    const v1 = candidates.version('ns')
    expect(v1).to.not.equal(v0)

    candidates.add('ns', peers[0], 10, NOW + 1)
    candidates.live('ns', NOW + 2)
    expect(candidates.version('ns')).to.equal(v1, 'a refresh changes nothing that depends on who is there')

    candidates.live('ns', NOW + 20_000)
    const v2 = candidates.version('ns')
    expect(v2).to.not.equal(v1, 'a peer whose registration ran out left')

    candidates.add('ns', peers[1], 10, NOW + 20_000)
    candidates.add('gone', peers[1], 10, NOW + 20_000)
    const gone = candidates.version('gone')
    candidates.retain(new Set(['ns']))
    expect(candidates.version('gone')).to.not.equal(gone)
    expect(candidates.live('gone', NOW + 20_000)).to.deep.equal([])
    expect(candidates.live('ns', NOW + 20_000)).to.have.lengthOf(1)

    const v3 = candidates.version('ns')
    candidates.clear()
    expect(candidates.version('ns')).to.not.equal(v3)
    expect(candidates.live('ns', NOW + 20_000)).to.deep.equal([])
  })
})
