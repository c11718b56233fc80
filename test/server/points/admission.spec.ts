/**
 * Who may register under `/libp2p/rendezvous` (issue 23 item 4, the point side): only the points a point admits
 * (its peer points and `admitPoints`, or anyone with `'any'`), and only when identify says they serve the
 * rendezvous protocol. Everyone else gets E_NOT_AUTHORIZED with a status text that says why, on the wire.
 */
import { expect } from 'aegir/chai'
import { rendezvousClient } from '../../../src/client/index.ts'
import { POINTS_NAMESPACE } from '../../../src/constants.ts'
import { rendezvousServer } from '../../../src/server/index.ts'
import { createTestNode } from '../../fixtures/memory-node.ts'
import { PointNodes, listedAt, planPoint } from './fixtures.ts'
import type { RendezvousClient } from '../../../src/client/types.ts'
import type { Libp2p } from '@libp2p/interface'

type Registrant = Libp2p<{ rendezvous: RendezvousClient }>

describe('admission under /libp2p/rendezvous', function () {
  this.timeout(30_000)

  const nodes = new PointNodes()
  const others: Libp2p[] = []

  afterEach(async () => {
    await Promise.all(others.splice(0).map(async node => node.stop()))
    await nodes.stopAll()
  })

  /** A node with the client that registers, serving the rendezvous protocol (as a point does) or not, with identify or not */
  async function registrant (serves: boolean, withIdentify = true): Promise<Registrant> {
    const node = await createTestNode({
      label: 'registrant',
      identify: withIdentify,
      services: {
        rendezvous: rendezvousClient(),
        ...(serves ? { point: rendezvousServer() } : {})
      }
    }) as unknown as Registrant
    others.push(node)
    return node
  }

  /** The refusal a REGISTER under the namespace of points gets, or undefined when it is accepted */
  async function refusal (node: Registrant, point: Libp2p): Promise<{ status: string, message: string } | undefined> {
    return node.services.rendezvous.register(point.getMultiaddrs(), POINTS_NAMESPACE).then(() => undefined, (err: any) => err)
  }

  it('a point in no network admits nobody there, and takes every other namespace as before', async () => {
    const point = await nodes.point(await planPoint('alone'))
    const node = await registrant(true)

    const refused = await refusal(node, point)
    expect(refused?.status).to.equal('E_NOT_AUTHORIZED')
    expect(refused?.message).to.include('this point admits no point under /libp2p/rendezvous')
    expect(await node.services.rendezvous.register(point.getMultiaddrs(), 'anything-else')).to.equal(7200)
    // nor does it list itself: a point outside a network looks as it always did
    expect(await listedAt(await nodes.client(), point)).to.deep.equal([])
    expect(point.services.rendezvous.knownPoints()).to.deep.equal([])
  })

  it('a listed peer id that does not serve the rendezvous protocol is refused, saying so', async () => {
    const node = await registrant(false)
    const point = await nodes.point(await planPoint('listed'), { admitPoints: [node.peerId.toString()] })

    const refused = await refusal(node, point)
    expect(refused?.status).to.equal('E_NOT_AUTHORIZED')
    expect(refused?.message).to.include(`${node.peerId.toString()} does not announce /rendezvous/1.0.0 in identify`)
  })

  it('a listed peer id whose identify never tells is refused after a bounded wait', async () => {
    const node = await registrant(true, false)
    // identify is waited for at most a quarter of the timeout (and at most 2 s)
    const point = await nodes.point(await planPoint('silent'), { admitPoints: [node.peerId.toString()], timeout: 2000 })

    const started = performance.now()
    const refused = await refusal(node, point)
    const waited = performance.now() - started
    expect(refused?.status).to.equal('E_NOT_AUTHORIZED')
    expect(refused?.message).to.include('did not say in identify within 500 ms which protocols it serves')
    expect(waited).to.be.within(450, 1900)
  })

  it('a listed peer id that serves the rendezvous protocol is admitted and listed', async () => {
    const node = await registrant(true)
    const point = await nodes.point(await planPoint('admits'), { admitPoints: [node.peerId.toString()] })

    expect(await node.services.rendezvous.register(point.getMultiaddrs(), POINTS_NAMESPACE)).to.equal(7200)
    expect(await listedAt(await nodes.client(), point)).to.include(node.peerId.toString())
  })

  it('fifty fake points announcing themselves at a point of a network are all refused, and its list stays the network\'s', async () => {
    const [a, b] = await Promise.all([planPoint('crowd-a'), planPoint('crowd-b')])
    const admitPoints = [a.peerId.toString(), b.peerId.toString()]
    const pointA = await nodes.point(a, { admitPoints })
    await nodes.point(b, { admitPoints, peerPoints: [a.address] })
    // each fake is a real rendezvous point with an identity of its own, as an attacker's would be
    const fakes = await Promise.all(Array.from({ length: 50 }, async () => registrant(true)))

    const checks = (): number => (pointA.services.rendezvous as any).records.stats().checks
    const checksBefore = checks()
    const started = performance.now()
    const refusals = await Promise.all(fakes.map(async fake => refusal(fake, pointA)))
    const took = performance.now() - started
    // refused before their records' signatures were checked: a crowd costs the point no signature check
    expect(checks()).to.equal(checksBefore)

    expect(refusals.map(refused => refused?.status)).to.deep.equal(fakes.map(() => 'E_NOT_AUTHORIZED'))
    expect(await listedAt(await nodes.client(), pointA)).to.deep.equal([...admitPoints].sort())
    // eslint-disable-next-line no-console
    console.log(`      POINTS_CROWD_REPORT: 50 fake points' REGISTERs refused in ${Math.round(took)} ms in all (each refused before its record's signature is checked)`)
  })

  it('\'any\' admits whoever serves the rendezvous protocol, and still refuses who does not', async () => {
    const point = await nodes.point(await planPoint('any'), { admitPoints: 'any' })
    const serving = await registrant(true)
    const notServing = await registrant(false)

    expect(await serving.services.rendezvous.register(point.getMultiaddrs(), POINTS_NAMESPACE)).to.equal(7200)
    expect((await refusal(notServing, point))?.message).to.include('does not announce /rendezvous/1.0.0 in identify')
    const listed = await listedAt(await nodes.client(), point)
    expect(listed).to.include(serving.peerId.toString())
    expect(listed).to.not.include(notServing.peerId.toString())
  })
})
