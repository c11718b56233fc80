import { generateKeyPair } from '@libp2p/crypto/keys'
import { InvalidParametersError } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { peerIdOfMultiaddr, resolvePoint } from '../../src/client/point.ts'
import { NoRendezvousPointsError } from '../../src/errors.ts'
import type { PeerId } from '@libp2p/interface'

describe('rendezvous point identity', () => {
  let relay: PeerId
  let target: PeerId

  before(async () => {
    relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  it('is the peer id itself for a PeerId', () => {
    expect(resolvePoint(target)).to.deep.equal({ target, id: target.toString() })
  })

  it('is the /p2p/ component of a multiaddr, the same as for the PeerId', () => {
    expect(resolvePoint(multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${target.toString()}`)).id).to.equal(target.toString())
  })

  it('is the destination of a relayed address, not the relay', () => {
    const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/p2p/${target.toString()}`)

    expect(peerIdOfMultiaddr(ma)?.toString()).to.equal(target.toString())
  })

  it('is unknown for a relayed address that names no destination', () => {
    const ma = multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit`)

    expect(peerIdOfMultiaddr(ma)).to.be.undefined()
    expect(() => resolvePoint(ma)).to.throw(InvalidParametersError, /\/p2p\//)
  })

  it('is shared by a list of addresses of one peer, and refused for addresses of several', () => {
    const a = multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${target.toString()}`)
    const b = multiaddr(`/dns4/rdv.example.com/tcp/443/wss/p2p/${target.toString()}`)
    const c = multiaddr(`/ip4/192.0.2.2/tcp/4001/p2p/${relay.toString()}`)

    expect(resolvePoint([a, b]).id).to.equal(target.toString())
    expect(() => resolvePoint([a, c])).to.throw(InvalidParametersError, /different peers/)
  })

  it('is refused for nothing at all, and for things that are not addresses', () => {
    expect(() => resolvePoint([])).to.throw(NoRendezvousPointsError)
    expect(() => resolvePoint(null as any)).to.throw(NoRendezvousPointsError)
    expect(() => resolvePoint('/ip4/1.2.3.4' as any)).to.throw(InvalidParametersError)
  })
})
