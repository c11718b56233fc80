import { defaultLogger } from '@libp2p/logger'
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

  function setup (fail?: PeerId): { records: Records, stored: PeerId[], announced: PeerInfo[], announce(peer: PeerInfo): void } {
    const stored: PeerId[] = []
    const announced: PeerInfo[] = []
    const records = new Records({
      peerId: self,
      logger: defaultLogger(),
      peerStore: {
        consumePeerRecord: async (_buf: Uint8Array, options?: { expectedPeer?: PeerId }) => {
          if (fail != null && options?.expectedPeer?.equals(fail) === true) {
            throw new Error('bad record')
          }

          stored.push(options?.expectedPeer as PeerId)
          return true
        }
      }
    })
    return { records, stored, announced, announce: (peer) => announced.push(peer) }
  }

  it('stores and announces each record once, a newer record again, and never the node itself', async () => {
    const { records, stored, announced, announce } = setup()
    const accepted = await records.accept('ns', [registration(self, 1n), registration(others[0], 1n), registration(others[1], 1n)], announce, () => true)
    expect(accepted.map(r => r.peerId.toString())).to.deep.equal([others[0], others[1]].map(String))

    await records.accept('ns', [registration(others[0], 1n), registration(others[1], 2n)], announce, () => true)
    expect(stored.map(String)).to.deep.equal([others[0], others[1], others[1]].map(String))
    expect(announced.map(p => p.id.toString())).to.deep.equal([others[0], others[1], others[1]].map(String))

    records.clear()
    await records.accept('ns', [registration(others[0], 1n)], announce, () => true)
    expect(announced).to.have.lengthOf(4, 'a new start announces again')
  })

  it('drops a record the peer store refuses, and announces nothing once stopped', async () => {
    const { records, announced, announce } = setup(others[0])
    const accepted = await records.accept('ns', [registration(others[0], 1n), registration(others[1], 1n)], announce, () => true)
    expect(accepted.map(r => r.peerId.toString())).to.deep.equal([others[1].toString()])

    let running = true
    const stopping = records.accept('ns', [registration(others[2], 1n)], (peer) => { running = false; announce(peer) }, () => running)
    await stopping
    const after = await records.accept('ns', [registration(self, 9n), registration(others[0], 5n)], announce, () => false)
    expect(after).to.have.lengthOf(0)
    expect(announced).to.have.lengthOf(2)
  })
})
