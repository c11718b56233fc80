import { RendezvousServer } from './rendezvous-server.ts'
import { MemoryRegistrationStore } from './store/memory-registration-store.ts'
import type { RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'

export { RendezvousServer } from './rendezvous-server.ts'
export { MemoryRegistrationStore } from './store/memory-registration-store.ts'
export type { RendezvousServerComponents, RendezvousServerInit, RendezvousServerService } from './options.ts'

/**
 * A rendezvous point as a libp2p service:
 *
 * ```ts
 * const node = await createLibp2p({ services: { identify: identify(), rendezvous: rendezvousServer() } })
 * ```
 */
export function rendezvousServer (init: RendezvousServerInit = {}): (components: RendezvousServerComponents) => RendezvousServerService {
  return (components) => new RendezvousServer(components, { ...init, store: init.store ?? new MemoryRegistrationStore() })
}
