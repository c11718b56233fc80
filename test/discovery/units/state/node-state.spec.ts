import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { canListenOnRelays, isPublicAddress, needsRelay } from '../../../../src/discovery/state/node-state.ts'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

function addressManager (addresses: Array<{ ma: string, verified: boolean }>): Pick<AddressManager, 'getAddressesWithMetadata'> {
  return { getAddressesWithMetadata: () => addresses.map(a => ({ multiaddr: multiaddr(a.ma), verified: a.verified, type: 'transport', expires: Infinity, lastVerified: 0 })) } as any
}

const PUBLIC_POINT = multiaddr('/dns4/rdv.example.com/tcp/443/wss/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')
const LAN_POINT = multiaddr('/ip4/192.168.1.10/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')
const LOCAL_POINT = multiaddr('/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')

describe('node state', () => {
  describe('public addresses', () => {
    it('counts global IPs and DNS names as public', () => {
      expect(isPublicAddress(multiaddr('/ip4/8.8.8.8/tcp/4001'))).to.be.true()
      expect(isPublicAddress(multiaddr('/ip6/2001:4860::8888/tcp/4001'))).to.be.true()
      expect(isPublicAddress(multiaddr('/dns4/example.com/tcp/443/wss'))).to.be.true()
    })

    it('does not count private, loopback, circuit or memory addresses', () => {
      expect(isPublicAddress(multiaddr('/ip4/192.168.1.2/tcp/4001'))).to.be.false()
      expect(isPublicAddress(multiaddr('/ip4/127.0.0.1/tcp/4001'))).to.be.false()
      expect(isPublicAddress(multiaddr('/dns4/localhost/tcp/4001'))).to.be.false()
      expect(isPublicAddress(multiaddr('/ip4/8.8.8.8/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/p2p-circuit'))).to.be.false()
      expect(isPublicAddress(multiaddr('/memory/abc'))).to.be.false()
    })
  })

  describe('relay need', () => {
    const lanNode = [multiaddr('/ip4/192.168.1.2/tcp/4001')]

    it('follows always and never', () => {
      expect(needsRelay('always', addressManager([{ ma: '/ip4/8.8.8.8/tcp/1', verified: true }]), [], [PUBLIC_POINT])).to.be.true()
      expect(needsRelay('never', addressManager([]), [], [PUBLIC_POINT])).to.be.false()
    })

    it('in auto mode, needs none with a public verified address, and one with only private addresses and a public point', () => {
      expect(needsRelay('auto', addressManager([{ ma: '/ip4/8.8.8.8/tcp/1', verified: true }]), [], [PUBLIC_POINT])).to.be.false()
      expect(needsRelay('auto', addressManager([{ ma: '/ip4/8.8.8.8/tcp/1', verified: false }]), [], [PUBLIC_POINT])).to.be.true()
      expect(needsRelay('auto', addressManager([]), lanNode, [PUBLIC_POINT])).to.be.true()
    })

    it('in auto mode, needs none on a private network: every point private and the node with a direct address', () => {
      expect(needsRelay('auto', addressManager([]), lanNode, [LAN_POINT])).to.be.false()
      expect(needsRelay('auto', addressManager([]), lanNode, [LOCAL_POINT, LAN_POINT])).to.be.false()
      expect(needsRelay('auto', addressManager([]), [multiaddr('/memory/x')], [multiaddr('/memory/p/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')])).to.be.false()
      expect(needsRelay('auto', addressManager([]), lanNode, [LAN_POINT, PUBLIC_POINT])).to.be.true('one public point: peers may come from anywhere')
      expect(needsRelay('auto', addressManager([]), [], [LAN_POINT])).to.be.true('a browser has no direct address to be dialed on')
    })
  })

  it('knows whether a transport can make relay reservations', () => {
    expect(canListenOnRelays({ getTransports: () => [] })).to.be.false()
    expect(canListenOnRelays({ getTransports: () => [{ listenFilter: (addrs: Multiaddr[]) => addrs }] as any })).to.be.true()
    expect(canListenOnRelays({ getTransports: () => [{ listenFilter: () => [] }] as any })).to.be.false()
  })
})
