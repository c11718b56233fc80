import { PeerMap } from '@libp2p/peer-collections'
import { expect } from 'aegir/chai'
import { Tagger } from '../../../../src/discovery/peers/tags.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { PeerId } from '@libp2p/interface'

describe('tags', () => {
  let self: PeerId
  let others: PeerId[]

  before(async () => {
    [self, ...others] = await peerIds(4)
  })

  function keep (entries: Array<[PeerId, string[]]>): PeerMap<Set<string>> {
    const map = new PeerMap<Set<string>>()
    entries.forEach(([peer, tags]) => { map.set(peer, new Set(tags)) })
    return map
  }

  it('adds what is kept, removes what no longer is, in order, and clears everything it set', async () => {
    const node = new StubNode(self, fakeRuntime().clock)
    const tagger = new Tagger(node, (tag) => tag === 'a' ? 60 : 80)

    tagger.apply(keep([[others[0], ['a']], [others[1], ['a', 'b']]]))
    tagger.apply(keep([[others[1], ['b']], [others[2], ['a']]]))
    await tagger.clear()
    expect(node.tagsOf(others[0])).to.deep.equal([])

    tagger.apply(keep([[others[1], ['b']], [others[2], ['a']]]))
    await new Promise(resolve => setImmediate(resolve))
    expect(node.tagsOf(others[0])).to.deep.equal([])
    expect(node.tagsOf(others[1])).to.deep.equal(['b'])
    expect(node.tags.get(others[1])?.get('b')).to.equal(80)
    expect(node.tagsOf(others[2])).to.deep.equal(['a'])
    expect(tagger.size).to.equal(2)

    await tagger.clear()
    expect(others.every(p => node.tagsOf(p).length === 0)).to.be.true()
  })
})
