/**
 * What a peer's identify agent says about the records it reads (src/protocol/agent.ts), read from a real node's
 * peer store: rust-libp2p's default agent reads only legacy records, js-libp2p's reads standard ones, any other
 * says nothing either way, and a peer never met or met without an agent has none. The client and the server
 * specs rely on it through whole exchanges; these pin the matching itself (a prefix, not a substring).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { agentVersionOf, readsOnlyLegacyRecords, readsStandardRecords } from '../../src/protocol/agent.ts'
import { createMemoryNode } from '../fixtures/memory-node.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

describe('protocol: what a peer\'s agent says about the records it reads', () => {
  it('takes rust-libp2p/ for a reader of legacy records only, and js-libp2p/ for a reader of standard ones, as prefixes', () => {
    expect(readsOnlyLegacyRecords('rust-libp2p/0.55.0')).to.be.true()
    expect(readsOnlyLegacyRecords('my-app rust-libp2p/0.55.0')).to.be.false()
    expect(readsOnlyLegacyRecords('js-libp2p/3.0.0 node/22')).to.be.false()

    expect(readsStandardRecords('js-libp2p/3.0.0 node/22')).to.be.true()
    expect(readsStandardRecords('not-js-libp2p/3.0.0')).to.be.false()
    expect(readsStandardRecords('rust-libp2p/0.55.0')).to.be.false()
    // Go's default agent is the program's module path: nothing either way
    expect(readsOnlyLegacyRecords('rendezvous-interop@')).to.be.false()
    expect(readsStandardRecords('rendezvous-interop@')).to.be.false()
  })

  describe('agentVersionOf', function () {
    this.timeout(20_000)

    let node: Libp2p
    let peer: PeerId

    before(async () => {
      node = await createMemoryNode({}, 'agent')
      peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    })

    after(async () => {
      await node?.stop()
    })

    it('has no agent without a peer store, for a peer never met, or for one met without an agent', async () => {
      expect(await agentVersionOf(undefined, peer)).to.be.undefined()
      expect(await agentVersionOf(node.peerStore, peer)).to.be.undefined()

      await node.peerStore.merge(peer, { metadata: { other: uint8ArrayFromString('x') } })
      expect(await agentVersionOf(node.peerStore, peer)).to.be.undefined()
    })

    it('reads the agent identify stored, as text', async () => {
      await node.peerStore.merge(peer, { metadata: { AgentVersion: uint8ArrayFromString('rust-libp2p/0.55.0') } })

      expect(await agentVersionOf(node.peerStore, peer)).to.equal('rust-libp2p/0.55.0')
    })
  })
})
