import { expect } from 'aegir/chai'
import { PeerIntake, isNewerRecord } from '../../../../src/discovery/peers/peer-intake.ts'
import { peerIds } from '../stubs/peers.ts'
import type { DiscoveredRegistration } from '../../../../src/client/types.ts'
import type { PeerId, PeerInfo } from '@libp2p/interface'

describe('peer intake', () => {
  let self: PeerId
  let others: PeerId[]

  before(async () => {
    [self, ...others] = await peerIds(4)
  })

  const registration = (peerId: PeerId, seqNumber: bigint): DiscoveredRegistration => ({ peerId, multiaddrs: [], namespace: 'ns', ttl: 60, seqNumber, signedPeerRecord: new Uint8Array(0) })

  function setup (): { intake: PeerIntake, announced: PeerInfo[], candidates: string[] } {
    const candidates: string[] = []
    const intake = new PeerIntake(self, {
      addCandidate: (ns, peerId) => { candidates.push(peerId.toString()); return true },
      holdDials: () => {},
      releaseDials: () => {}
    })
    const announced: PeerInfo[] = []
    intake.addEventListener('peer', (evt) => announced.push(evt.detail))
    intake.start()
    return { intake, announced, candidates }
  }

  it('announces each record once, a newer record again, and never the node itself', () => {
    const { intake, announced, candidates } = setup()

    intake.accept('ns', [registration(self, 1n), registration(others[0], 1n), registration(others[1], 1n)])
    expect(candidates).to.deep.equal([others[0], others[1]].map(String))

    intake.accept('ns', [registration(others[0], 1n), registration(others[1], 2n)])
    expect(candidates).to.have.lengthOf(4, 'known records are still candidates')
    expect(announced.map(p => p.id.toString())).to.deep.equal([others[0], others[1], others[1]].map(String))

    intake.start()
    intake.accept('ns', [registration(others[0], 1n)])
    expect(announced).to.have.lengthOf(4, 'a new start announces again')
  })

  it('takes nothing once stopped', () => {
    const { intake, announced, candidates } = setup()
    intake.stop()
    expect(intake.accept('ns', [registration(others[0], 1n)])).to.deep.equal({ others: [registration(others[0], 1n)], added: 0 })
    expect(announced).to.be.empty()
    expect(candidates).to.be.empty()
  })

  it('orders records of one peer whichever unit sealed them (seconds, milliseconds)', () => {
    const seconds = 1_700_000_000n
    expect(isNewerRecord(seconds * 1000n + 1n, seconds)).to.be.true()
    expect(isNewerRecord(seconds, seconds * 1000n + 1n)).to.be.false()
    expect(isNewerRecord(1n)).to.be.true()
    expect(isNewerRecord(1n, 1n)).to.be.false()
  })
})
