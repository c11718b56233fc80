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
import { resolveClientConfig } from './config.ts'
import { DefaultRendezvousClient } from './rendezvous-client.ts'
import type { RendezvousClientComponents } from './rendezvous-client.ts'
import type { RendezvousClient, RendezvousClientInit } from './types.ts'

export { DefaultRendezvousClient } from './rendezvous-client.ts'
export type { RendezvousClientComponents } from './rendezvous-client.ts'
export type { RendezvousClient, RendezvousClientInit, RendezvousPoint, RegisterOptions, DiscoverOptions, DiscoveredRegistration, DiscoverResult } from './types.ts'

/**
 * A libp2p service factory: `services: { rendezvous: rendezvousClient(init) }`. The options are checked here, when
 * it is called: one that cannot work, or a key that is no option, throws an `InvalidParametersError` naming it.
 */
export function rendezvousClient (init: RendezvousClientInit = {}): (components: RendezvousClientComponents) => RendezvousClient {
  const config = resolveClientConfig(init)
  return (components) => new DefaultRendezvousClient(components, config)
}
