import tests from '@libp2p/interface-compliance-tests/peer-discovery'
import { RendezvousDiscovery } from '../../../src/discovery/index.ts'
import { createMemoryNode } from '../../fixtures/memory-node.ts'
import { FAST, createPeer, createPoint, pointAddress, stopAll, waitFor } from './fixtures.ts'
import type { PeerNode, PointNode } from './fixtures.ts'
import type { Libp2p } from '@libp2p/interface'

describe('peer discovery compliance', () => {
  let point: PointNode | undefined
  let registrant: PeerNode | undefined
  let host: Libp2p | undefined

  tests({
    async setup () {
      point = await createPoint()
      // a peer registered under the namespace, so discovery has someone to find
      registrant = await createPeer({ points: [point], pubsub: false, discovery: { namespaces: [{ ns: 'compliance', discover: false }] } })
      const registered = await waitFor(() => registrant?.services.rendezvous.status.scheduler.registrations.some(r => r.registered) ?? false, 5000)

      if (!registered) {
        throw new Error('the registrant did not register')
      }

      // the module under test runs on the components of a real node, started and stopped by the suite
      host = await createMemoryNode({}, 'host')
      const components = (host as any).components
      return new RendezvousDiscovery(components, {
        ...FAST,
        relay: 'never',
        points: [pointAddress(point)],
        namespaces: [{ ns: 'compliance', register: false, quota: 0 }]
      })
    },
    async teardown () {
      await stopAll([host, registrant, point])
    }
  })
})
