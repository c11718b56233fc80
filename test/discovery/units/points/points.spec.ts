/**
 * The rendezvous points and their health, on a fake clock: parsing, backoff after failures (the point's or only
 * the request's), and when a point counts as back.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { PointHealth, isRequestError } from '../../../../src/discovery/points/point-health.ts'
import { parsePoints } from '../../../../src/discovery/points/point.ts'
import { InvalidNamespaceError, NoAddressesError, RendezvousError } from '../../../../src/errors.ts'
import { Message } from '../../../../src/pb/rendezvous.ts'
import { fakeRuntime } from '../stubs/fake-clock.ts'
import { peerIds, pointAddress } from '../stubs/peers.ts'
import type { RendezvousPointState, WorkState } from '../../../../src/discovery/points/point-health.ts'
import type { PeerId } from '@libp2p/interface'

const BACKOFF = { initial: 1000, max: 8000 }

describe('rendezvous points', () => {
  let self: PeerId
  let ids: PeerId[]

  before(async () => {
    [self, ...ids] = await peerIds(4)
  })

  function setup (count = 2): { points: PointHealth, runtime: ReturnType<typeof fakeRuntime>, back: string[] } {
    const runtime = fakeRuntime()
    const back: string[] = []
    const points = new PointHealth(parsePoints(ids.slice(0, count).map(id => pointAddress(id))), { pointBackoff: BACKOFF }, runtime, defaultLogger().forComponent('test'))
    points.addEventListener('up', (evt) => back.push(evt.detail.id))
    return { points, runtime, back }
  }

  it('parses each point once, leaves the node itself out, and refuses an address without /p2p/<id>, naming it', () => {
    const parsed = parsePoints([pointAddress(ids[0]), pointAddress(ids[0], 'again'), pointAddress(self), pointAddress(ids[1])], self)
    expect(parsed.map(p => p.id)).to.deep.equal([ids[0], ids[1]].map(String))
    expect(Object.isFrozen(parsed[0])).to.be.true('a point is a value: its health lives in PointHealth')

    expect(() => parsePoints([pointAddress(ids[0]), multiaddr('/memory/no-id')]))
      .to.throw(InvalidParametersError).with.property('message').that.includes('points[1]').and.includes('/memory/no-id')
  })

  it('backs a failing point off for at least the initial delay, counts failures of requests in flight together as one, and forgets it all on success', async () => {
    const { points, runtime, back } = setup()
    const point = points.list[0]
    const work: WorkState = { failures: 0 }
    const other: WorkState = { failures: 0 }

    const first = points.failed(point, work, new Error('connection refused'))
    expect(first).to.be.within(BACKOFF.initial, BACKOFF.initial * 2)
    expect(point).to.include({ failures: 1, down: true, lastError: 'connection refused' })
    expect(points.available().map(p => p.id)).to.deep.equal([points.list[1].id], 'the other point still serves')

    // a second request that was in flight fails in the same backoff: no second failure
    expect(points.failed(point, other, new Error('reset'))).to.equal(points.wait(point))
    expect(point.failures).to.equal(1)
    expect(other.failures).to.equal(1, 'the work itself counts its failure')

    await runtime.clock.tick(first)
    expect(points.wait(point)).to.equal(0)
    const second = points.failed(point, work, new Error('connection refused'))
    expect(point.failures).to.equal(2)
    expect(second).to.be.within(BACKOFF.initial, BACKOFF.initial * 2)

    points.succeeded(point)
    expect(point).to.include({ failures: 0, backoffUntil: 0, down: false, lastError: undefined })
    expect(point.lastSuccessAt).to.equal(runtime.clock.now())
    expect(back).to.deep.equal([point.id], 'back once, after being down')
  })

  it('backs off only the request when the point answered with any status or the node had nothing to send, and counts a refusal as an answer', () => {
    const { points, back } = setup()
    const point = points.list[0]
    point.down = true
    const work: WorkState = { failures: 0 }

    const refused = new RendezvousError(Message.ResponseStatus.E_NOT_AUTHORIZED, 'no')
    const delay = points.failed(point, work, refused)
    expect(delay).to.be.within(BACKOFF.initial, BACKOFF.initial * 2)
    expect(work).to.include({ failures: 1, lastError: 'no' })
    expect(point).to.include({ failures: 0, backoffUntil: 0, down: false })
    expect(back).to.deep.equal([point.id], 'a point that answers is up')

    points.failed(point, work, new NoAddressesError('none'))
    expect(point.backoffUntil).to.equal(0)
    expect(work.failures).to.equal(2)

    expect(isRequestError(new InvalidNamespaceError('long'))).to.be.true()
    // any status answer: rust-libp2p refuses a peer past its cap with E_UNAVAILABLE while it serves its other namespaces
    expect(isRequestError(new RendezvousError(Message.ResponseStatus.E_UNAVAILABLE, 'busy'))).to.be.true('a status answer backs off the request alone')
    expect(isRequestError(new RendezvousError(Message.ResponseStatus.E_INTERNAL_ERROR, 'oops'))).to.be.true()
    expect(isRequestError(new Error('timeout'))).to.be.false()
    expect(work.waitsForPoint).to.be.false()
    points.failed(point, work, new Error('timeout'))
    expect(work.waitsForPoint).to.be.true('work that failed with the point waits for it')
    expect(point.down).to.be.true()
  })

  it('counts a point whose connection closed as down, and as back when a connection opens again', () => {
    const { points, back } = setup()
    const [a, b] = points.list as [RendezvousPointState, RendezvousPointState]

    points.connected(a.peerId)
    expect(back).to.deep.equal([], 'a point that was never down is not back')

    points.disconnected(a.peerId)
    points.disconnected(ids[2])
    expect(a.down).to.be.true()
    expect(b.down).to.be.false()

    points.connected(a.peerId)
    expect(back).to.deep.equal([a.id])
    expect(a.down).to.be.false()
  })

  it('forgets every point\'s health on reset (a new start)', () => {
    const { points } = setup()
    const point = points.list[0]
    points.failed(point, { failures: 0 }, new Error('down'))
    expect(points.available()).to.have.lengthOf(1)

    points.reset()
    expect(point).to.include({ failures: 0, backoffUntil: 0, down: false, lastError: undefined })
    expect(points.available()).to.have.lengthOf(2)
  })
})
