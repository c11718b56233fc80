import { checkServerOptions } from './config.ts'
import { RendezvousServer } from './rendezvous-server.ts'
import { MemoryRegistrationStore } from './store/memory-registration-store.ts'
import type { RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'

export { RendezvousServer } from './rendezvous-server.ts'
export { MemoryRegistrationStore } from './store/memory-registration-store.ts'
export type { KnownPointStatus, RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'

/**
 * A rendezvous point as a libp2p service:
 *
 * ```ts
 * const node = await createLibp2p({ services: { identify: identify(), rendezvous: rendezvousServer() } })
 * ```
 *
 * The options are checked here, when the factory is called: one that cannot work, or a key that is no option,
 * throws an `InvalidParametersError` naming it.
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServerService {
  const { store, ...config } = checkServerOptions(init)
  return (components) => new RendezvousServer(components, { ...config, store: store ?? new MemoryRegistrationStore() })
}
