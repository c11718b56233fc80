import { InvalidParametersError } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../src/discovery/config.ts'
import { rendezvousDiscovery } from '../../../src/discovery/index.ts'
import type { RendezvousDiscoveryInit } from '../../../src/discovery/options.ts'

/**
 * Expects `init` to be refused with the package's one error for a bad option (an InvalidParametersError that names
 * the factory and the option, and shows `value`), both by `resolveOptions` and by the factory an application calls
 */
function refused (init: unknown, option: string, value: string): void {
  for (const build of [resolveOptions, rendezvousDiscovery]) {
    let error: unknown

    try {
      build(init as RendezvousDiscoveryInit)
    } catch (err) {
      error = err
    }

    expect(error, `${build.name}: ${option} = ${value}`).to.be.an.instanceOf(InvalidParametersError)
    expect((error as Error).message).to.include(`rendezvousDiscovery: option ${option} `)
    expect((error as Error).message).to.include(value)
  }
}

describe('discovery options (issue 12, item 19)', () => {
  it('fills in the documented defaults', () => {
    const options = resolveOptions()
    expect(options.quotas).to.deep.equal({ topic: 6, relay: 2, dapp: 4, namespace: 4 })
    expect(options.relay).to.equal('auto')
    expect(options.tags.point).to.equal(100)
    expect(options.discoverInterval).to.equal(1000)
    expect(options.fastDiscoverInterval).to.equal(100)
    expect(options.satisfiedDiscoverInterval).to.equal(30_000)
    expect(options.pollInterval).to.equal(5000)
    expect(options.points).to.deep.equal([])
  })

  it('parses the points, refusing one that is not a multiaddr, naming it', () => {
    const point = '/memory/p/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
    expect(resolveOptions({ points: [point, multiaddr(point)] }).points.map(String)).to.deep.equal([point, point])
    refused({ points: ['not a multiaddr'] }, 'points[0]', '"not a multiaddr"')
    refused({ points: [point, '/memory/no-peer-id'] }, 'points[1]', '/memory/no-peer-id')
    refused({ points: [`${point}/p2p-circuit`] }, 'points[0]', '/p2p-circuit')
    refused({ points: [point, 42] }, 'points[1]', '42')
    refused({ points: point }, 'points', point)
  })

  it('refuses intervals and timeouts that would hammer a point or overflow a timer', () => {
    refused({ discoverInterval: 0 }, 'discoverInterval', '0')
    refused({ discoverInterval: -1 }, 'discoverInterval', '-1')
    refused({ discoverInterval: Number.NaN }, 'discoverInterval', 'NaN')
    refused({ discoverInterval: '1000' }, 'discoverInterval', '"1000"')
    refused({ pollInterval: 0 }, 'pollInterval', '0')
    refused({ fastDiscoverInterval: 0 }, 'fastDiscoverInterval', '0')
    refused({ satisfiedDiscoverInterval: 0 }, 'satisfiedDiscoverInterval', '0')
    refused({ maxDiscoverInterval: 500, discoverInterval: 1000 }, 'maxDiscoverInterval', '500')
    refused({ dialTimeout: 2 ** 31 }, 'dialTimeout', String(2 ** 31))
    refused({ stopTimeout: Infinity }, 'stopTimeout', 'Infinity')
    refused({ refreshMargin: -5 }, 'refreshMargin', '-5')
    refused({ countGrace: -1 }, 'countGrace', '-1')
    refused({ fastDiscoverWindow: -1 }, 'fastDiscoverWindow', '-1')
  })

  it('refuses counts that are not whole numbers in range', () => {
    refused({ maxParallelDials: 0 }, 'maxParallelDials', '0')
    refused({ maxQueuedDials: 1.5 }, 'maxQueuedDials', '1.5')
    refused({ discoverLimit: 0 }, 'discoverLimit', '0')
    refused({ discoverLimit: 5000 }, 'discoverLimit', '5000')
    refused({ connectionHeadroom: -1 }, 'connectionHeadroom', '-1')
    refused({ quotas: { topic: -1 } }, 'quotas.topic', '-1')
    refused({ quotas: { relay: 2.5 } }, 'quotas.relay', '2.5')
    refused({ tags: { topic: 101 } }, 'tags.topic', '101')
    refused({ ttl: 0 }, 'ttl', '0')
    refused({ ttl: 10 ** 9 }, 'ttl', String(10 ** 9))
    refused({ pointBackoff: { initial: 0 } }, 'pointBackoff.initial', '0')
    refused({ peerBackoff: { initial: 5000, max: 10 } }, 'peerBackoff.max', '10')
  })

  it('refuses a dapp id and user namespaces that make no valid namespace, and a negative namespace quota', () => {
    refused({ dapp: '' }, 'dapp', '""')
    refused({ dapp: 7 }, 'dapp', '7')
    refused({ dapp: 'x'.repeat(300) }, 'dapp', 'x'.repeat(300))
    refused({ namespaces: [{ ns: 'ok' }, { ns: '' }] }, 'namespaces[1].ns', '""')
    refused({ namespaces: [{ ns: 'ok' }, 'also-ok'] }, 'namespaces[1]', '"also-ok"')
    refused({ namespaces: [null] }, 'namespaces[0]', 'null')
    refused({ namespaces: [{ ns: 'a', quota: -1 }] }, 'namespaces[0].quota', '-1')
    refused({ namespaces: [{ ns: 'a', register: 'yes' }] }, 'namespaces[0].register', '"yes"')
    refused({ namespaces: [{ ns: 'a', closest: 0 }] }, 'namespaces[0].closest', '0')
    refused({ namespaces: [{ ns: 'a', closest: 4, quota: 2 }] }, 'namespaces[0].quota', '2')
    refused({ namespaces: [{ ns: 'a', qouta: 2 }] }, 'namespaces[0].qouta', 'quota')
    refused({ namespaces: { ns: 'a' } }, 'namespaces', '{"ns":"a"}')
  })

  it('refuses unknown keys, naming them, and values of the wrong kind', () => {
    refused({ discoverintervall: 5 }, 'discoverintervall', 'discoverInterval')
    refused({ quotas: { topics: 3 } }, 'quotas.topics', 'topic')
    refused({ relay: 'sometimes' }, 'relay', '"sometimes"')
    refused({ relayListen: 'no' }, 'relayListen', '"no"')
    refused({ keepAlivePoints: 1 }, 'keepAlivePoints', '1')
    refused({ pubsubService: '' }, 'pubsubService', '""')
    refused({ deriveNamespaces: 'mine' }, 'deriveNamespaces', '"mine"')
    refused({ onWarning: true }, 'onWarning', 'true')
    refused({ client: 5 }, 'client', '5')
    refused({ clientInit: 'fast' }, 'clientInit', '"fast"')
  })
})
