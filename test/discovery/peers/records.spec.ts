import { expect } from 'aegir/chai'
import { Records } from '../../../src/discovery/peers/records.ts'
import { peerIds } from '../stubs/peers.ts'
import type { DiscoveredRegistration } from '../../../src/client/types.ts'
import type { PeerId, PeerInfo } from '@libp2p/interface'

describe('records', () => {
  let self: PeerId
  let others: PeerId[]

  before(async () => {
    [self, ...others] = await peerIds(4)
  })

  const registration = (peerId: PeerId, seqNumber: bigint): DiscoveredRegistration => ({ peerId, multiaddrs: [], namespace: 'ns', ttl: 60, seqNumber, signedPeerRecord: new Uint8Array(0) })

  it('announces each record once, a newer record again, and never the node itself', () => {
    const records = new Records(self)
    const announced: PeerInfo[] = []
    const announce = (peer: PeerInfo): void => { announced.push(peer) }

    const accepted = records.accept([registration(self, 1n), registration(others[0], 1n), registration(others[1], 1n)], announce)
    expect(accepted.map(r => r.peerId.toString())).to.deep.equal([others[0], others[1]].map(String))

    const again = records.accept([registration(others[0], 1n), registration(others[1], 2n)], announce)
    expect(again).to.have.lengthOf(2, 'known records are still candidates')
    expect(announced.map(p => p.id.toString())).to.deep.equal([others[0], others[1], others[1]].map(String))

    records.clear()
    records.accept([registration(others[0], 1n)], announce)
    expect(announced).to.have.lengthOf(4, 'a new start announces again')
  })
})
