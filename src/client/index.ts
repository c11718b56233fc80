/**
 * The rendezvous client as a libp2p service:
 *
 * ```ts
 * const node = await createLibp2p({
 *   // …
 *   services: { identify: identify(), rendezvous: rendezvousClient() }
 * })
 * const ttl = await node.services.rendezvous.register(pointMultiaddr, 'my-app')
 * const { registrations } = await node.services.rendezvous.discover(pointMultiaddr, 'my-app')
 * ```
 */
import { DefaultRendezvousClient } from './rendezvous-client.ts'
import type { RendezvousClientComponents } from './rendezvous-client.ts'
import type { RendezvousClient, RendezvousClientInit } from './types.ts'

export { DefaultRendezvousClient } from './rendezvous-client.ts'
export type { RendezvousClientComponents } from './rendezvous-client.ts'
export type { RendezvousClient, RendezvousClientInit, RendezvousPoint, RegisterOptions, DiscoverOptions, DiscoveredRegistration, DiscoverResult } from './types.ts'

/** A libp2p service factory: `services: { rendezvous: rendezvousClient(init) }` */
export function rendezvousClient (init: RendezvousClientInit = {}): (components: RendezvousClientComponents) => RendezvousClient {
  return (components) => new DefaultRendezvousClient(components, init)
}
