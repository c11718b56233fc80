/**
 * The rendezvous server's memory store, recording what the benchmark wants to know about the requests that reach
 * it: how many of each kind, when each peer first registered, and (when asked) when each first registered a
 * record that carries a `/p2p-circuit` address. Times are `performance.now()` of the benchmark's process, which
 * the server shares with the nodes.
 */
import { Circuit } from '@multiformats/multiaddr-matcher'
import { openPeerRecord } from '../../src/protocol/peer-record.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import type { DiscoverPage, DiscoverQuery, RegisterInput, RegisterLimits, RegisterOutcome } from '../../src/server/store/registration-store.ts'
import type { PeerId } from '@libp2p/interface'

export class RecordingStore extends MemoryRegistrationStore {
  readonly requests = { register: 0, discover: 0 }
  private readonly firstRegistered = new Map<string, number>()
  private readonly circuitRegistered = new Map<string, number>()
  private readonly watchCircuits: boolean

  /** `watchCircuits`: open each record to see whether it carries a circuit address (costs a signature check) */
  constructor (watchCircuits = false) {
    super()
    this.watchCircuits = watchCircuits
  }

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    this.requests.register++
    const outcome = await super.register(input, limits, now)

    if (outcome.ok) {
      const at = performance.now()

      if (!this.firstRegistered.has(input.peerId)) {
        this.firstRegistered.set(input.peerId, at)
      }

      if (this.watchCircuits && !this.circuitRegistered.has(input.peerId)) {
        const record = await openPeerRecord(input.signedPeerRecord)

        if (record.multiaddrs.some(ma => Circuit.matches(ma))) {
          this.circuitRegistered.set(input.peerId, at)
        }
      }
    }

    return outcome
  }

  async discover (query: DiscoverQuery): Promise<DiscoverPage> {
    this.requests.discover++
    return super.discover(query)
  }

  registeredAt (peer: PeerId): number | undefined {
    return this.firstRegistered.get(peer.toString())
  }

  circuitRegisteredAt (peer: PeerId): number | undefined {
    return this.circuitRegistered.get(peer.toString())
  }
}
