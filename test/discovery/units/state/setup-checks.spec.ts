/**
 * The setup checks on a fake clock: a state is judged once it is complete (an address, or the grace after the
 * start), a node waiting for a relay reservation is not warned about its missing address, and a configured point
 * that has not answered since the start is named once (issue 20, items 12, 13 and 20).
 */
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { PointHealth } from '../../../../src/discovery/points/point-health.ts'
import { parsePoints } from '../../../../src/discovery/points/point.ts'
import { POINT_ANSWER_GRACE, STATE_GRACE, SetupChecks } from '../../../../src/discovery/state/setup-checks.ts'
import { Warnings } from '../../../../src/discovery/warnings.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { peerIds, pointAddress } from '../stubs/peers.ts'
import type { NodeState, RelayMode } from '../../../../src/discovery/options.ts'
import type { DiscoveryWarning } from '../../../../src/discovery/warnings.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const circuitTransport = { listenFilter: (addrs: Multiaddr[]) => addrs.filter(ma => ma.toString() === '/p2p-circuit') }
const BACKOFF = { initial: 1000, max: 10_000 }

describe('setup checks', () => {
  let ids: PeerId[]

  before(async () => {
    ids = await peerIds(3)
  })

  function setup (relay: RelayMode = 'auto', transports: typeof circuitTransport[] = []): {
    checks: SetupChecks
    points: PointHealth
    said: DiscoveryWarning[]
    runtime: ReturnType<typeof fakeRuntime>
    node: { addresses: Multiaddr[], state?: NodeState }
  } {
    const runtime = fakeRuntime()
    const log = defaultLogger().forComponent('test')
    const said: DiscoveryWarning[] = []
    const warnings = new Warnings(log, (warning) => said.push(warning))
    const configured = parsePoints(ids.slice(0, 2).map(id => pointAddress(id)))
    const points = new PointHealth(configured, { pointBackoff: BACKOFF }, runtime, log)
    points.addEventListener('failed', (evt) => { checks.pointFailed(evt.detail) })
    const node: { addresses: Multiaddr[], state?: NodeState } = { addresses: [] }
    const checks: SetupChecks = new SetupChecks({
      addressManager: { getAddresses: () => node.addresses },
      transportManager: { getTransports: () => transports as any }
    }, { relay, relayListen: true, quotas: { topic: 6, relay: 2, dapp: 4, namespace: 4 }, pointBackoff: BACKOFF }, runtime, warnings, points, log, {
      state: () => node.state,
      registered: () => ['floodsub:news'],
      configured: () => configured
    })
    return { checks, points, said, runtime, node }
  }

  function state (addresses: Multiaddr[], needsRelay: boolean): NodeState {
    return { topics: ['news'], hasPubsub: true, runsRelay: false, needsRelay, addresses }
  }

  it('does not judge a first state without addresses (read before the listeners are up), and none once the address shows the relay is not needed', async () => {
    const { checks, said, runtime, node } = setup()
    checks.start()
    // libp2p's listeners start in the same round as the module: its first state has no address, so "needs a relay"
    node.state = state([], true)
    checks.stateApplied(node.state)
    await runtime.clock.tick(10)
    node.addresses = [multiaddr('/ip4/127.0.0.1/tcp/4002')]
    node.state = state(node.addresses, false)
    checks.stateApplied(node.state)
    await runtime.clock.tick(STATE_GRACE * 2)
    expect(said).to.deep.equal([])
  })

  it('judges a state that stays without addresses once the grace is over, and says the cause once', async () => {
    const { checks, said, runtime, node } = setup()
    checks.start()
    node.state = state([], true)
    checks.stateApplied(node.state)
    checks.noAddresses()
    await runtime.clock.tick(STATE_GRACE - 1)
    expect(said).to.deep.equal([])
    await runtime.clock.tick(1)
    expect(said.map(w => w.code)).to.deep.equal(['no-relay-transport'])
    checks.stateApplied(node.state)
    expect(said).to.have.lengthOf(1)
  })

  it('never says that a node without an address lacks one while it can listen on relays (waiting for a reservation, or between relays)', async () => {
    const { checks, said, runtime, node } = setup('auto', [circuitTransport])
    checks.start()
    node.state = state([], true)
    checks.stateApplied(node.state)

    for (let i = 0; i < 5; i++) {
      checks.noAddresses()
      await runtime.clock.tick(STATE_GRACE * 2)
    }

    expect(said).to.deep.equal([])
  })

  it('says that a node lacks addresses when no relay would give it one', async () => {
    const { checks, said, runtime, node } = setup('never')
    checks.start()
    node.state = state([], false)
    checks.noAddresses()
    await runtime.clock.tick(STATE_GRACE)
    expect(said.map(w => w.code)).to.deep.equal(['no-addresses'])
    expect(said[0].message).to.include('floodsub:news')
  })

  it('names a point that has not answered within the grace after the start, once, with its error; not one that answered or was never asked', async () => {
    const { checks, points, said, runtime } = setup()
    checks.start()
    const [dead, alive] = points.list
    points.failed(dead, { failures: 0 }, new Error('connect ECONNREFUSED 127.0.0.1:14999'))
    points.succeeded(alive)
    await runtime.clock.tick(POINT_ANSWER_GRACE - 1)
    expect(said).to.deep.equal([])

    await runtime.clock.tick(1)
    expect(said.map(w => w.code)).to.deep.equal(['point-unreachable'])
    expect(said[0].message).to.include(dead.multiaddr.toString()).and.include('ECONNREFUSED 127.0.0.1:14999')

    // it keeps failing: said once
    await runtime.clock.tick(BACKOFF.max)
    points.failed(dead, { failures: 0 }, new Error('connect ECONNREFUSED 127.0.0.1:14999'))
    expect(said).to.have.lengthOf(1)
  })

  it('names a point whose first failure comes after the grace (a slow dial), and each such point once', async () => {
    const { checks, points, said, runtime } = setup()
    checks.start()
    await runtime.clock.tick(POINT_ANSWER_GRACE + 5000)
    expect(said).to.deep.equal([], 'nothing asked, nothing failed')

    points.failed(points.list[0], { failures: 0 }, new Error('dial timed out'))
    points.failed(points.list[1], { failures: 0 }, new Error('dial timed out'))
    expect(said.map(w => w.message.includes(points.list[0].multiaddr.toString()) ? 0 : 1)).to.deep.equal([0, 1])
  })
})
