/**
 * Dials that would only fail at a dead relay (issue 20, item 20), on a fake clock: a candidate reached only through
 * a rendezvous point that is down, or the point itself, waits until the point is back instead of being dialed (in a
 * browser each failed WebSocket is an error in the console) and backed off; and a peer that registered again is
 * worth a dial at once, whatever its earlier dials met.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { Demand } from '../../../../src/discovery/demand.ts'
import { relaysOf } from '../../../../src/discovery/peers/candidates.ts'
import { INBOUND_GRACE, Quotas, RECONCILE_DELAY } from '../../../../src/discovery/peers/quotas.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { StubNode } from '../stubs/node.ts'
import { peerIds } from '../stubs/peers.ts'
import type { NamespaceSpec } from '../../../../src/discovery/options.ts'
import type { PeerId } from '@libp2p/interface'

const dapp: NamespaceSpec = { ns: '/dapp/x', kind: 'dapp', register: true, discover: true, quota: 1 }
const relay: NamespaceSpec = { ns: '/libp2p/relay', kind: 'relay', register: false, discover: true, quota: 1 }

describe('dials through relays that are down', () => {
  let self: PeerId
  let point: PeerId
  let tab: PeerId
  let other: PeerId

  before(async () => {
    [self, point, tab, other] = await peerIds(4)
  })

  function setup (): { quotas: Quotas, node: StubNode, runtime: ReturnType<typeof fakeRuntime>, down: Set<string> } {
    const runtime = fakeRuntime()
    const node = new StubNode(self, runtime.clock)
    const down = new Set<string>()
    const quotas = new Quotas(node, resolveOptions({ peerBackoff: { initial: 60_000, max: 60_000 } }), runtime, {
      demand: new Demand(),
      points: { failing: (peer) => down.has(peer.toString()) }
    })
    quotas.start()
    return { quotas, node, runtime, down }
  }

  it('names the relays of a peer reached only through relays, and none for a peer with a direct address', () => {
    const circuit = multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${point}/p2p-circuit`)

    expect(relaysOf([circuit])?.map(String)).to.deep.equal([point.toString()])
    expect(relaysOf([circuit, multiaddr('/ip4/192.168.1.2/tcp/4001')])).to.be.undefined()
    expect(relaysOf([multiaddr('/p2p-circuit')]), 'a circuit through an unnamed relay').to.be.undefined()
    expect(relaysOf([])).to.be.undefined()
  })

  it('does not dial a peer reached only through a point that is down, nor the point as a relay, and dials both once it is back', async () => {
    const { quotas, node, runtime, down } = setup()
    down.add(point.toString())
    quotas.setNamespaces([relay, dapp])
    quotas.addCandidate(relay.ns, point, 600, new Uint8Array([1]))
    quotas.addCandidate(dapp.ns, tab, 600, new Uint8Array([1]), [point])
    await runtime.clock.tick(INBOUND_GRACE * 10)
    expect(node.dialed).to.deep.equal([])
    expect(quotas.status().backedOff).to.equal(0, 'nobody backed off for the relay being down')

    down.delete(point.toString())
    quotas.scheduleReconcile()
    await runtime.clock.tick(INBOUND_GRACE + RECONCILE_DELAY * 5)
    expect(node.dialed.map(String).sort()).to.deep.equal([point, tab].map(String).sort())
    await quotas.stop()
  })

  it('dials a peer through another of its relays while one is down', async () => {
    const { quotas, node, runtime, down } = setup()
    down.add(point.toString())
    quotas.setNamespaces([dapp])
    quotas.addCandidate(dapp.ns, tab, 600, new Uint8Array([1]), [point, other])
    await runtime.clock.tick(INBOUND_GRACE + RECONCILE_DELAY * 5)
    expect(node.dialed.map(String)).to.deep.equal([tab.toString()])
    await quotas.stop()
  })

  it('dials at once a peer in dial backoff that registered again with a new record', async () => {
    const { quotas, node, runtime } = setup()
    let reachable = false
    node.dial = () => {
      if (!reachable) {
        throw new Error('unreachable')
      }
    }
    quotas.setNamespaces([dapp])
    quotas.addCandidate(dapp.ns, tab, 600, new Uint8Array([1]))
    await runtime.clock.tick(INBOUND_GRACE + RECONCILE_DELAY * 5)
    expect(node.dialed).to.have.lengthOf(1)
    expect(quotas.status().backedOff).to.equal(1)

    // the same record again (a later query): still backed off
    reachable = true
    quotas.addCandidate(dapp.ns, tab, 600, new Uint8Array([1]))
    await runtime.clock.tick(INBOUND_GRACE + RECONCILE_DELAY * 5)
    expect(node.dialed).to.have.lengthOf(1)

    // a new record (it registered again, e.g. through a new relay): dialed now, not 60 s later
    quotas.addCandidate(dapp.ns, tab, 600, new Uint8Array([2]))
    await runtime.clock.tick(INBOUND_GRACE + RECONCILE_DELAY * 5)
    expect(node.dialed).to.have.lengthOf(2)
    expect(node.isConnected(tab)).to.be.true()
    await quotas.stop()
  })
})
