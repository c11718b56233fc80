/**
 * What a peer's identify agent says about the peer records it reads. rust-libp2p (`rust-libp2p/<version>`, its
 * default agent) opens only legacy records, as a client and as a point; every other implementation opens standard
 * ones. The client uses this to pick the format it registers in, the server to pick the records it sends.
 *
 * Only js-libp2p's agent (`js-libp2p/<version> node/…`) is known to name a peer that opens standard records: Go's
 * default agent is the program's module path (the interop peer says `rendezvous-interop@`), and a rust-libp2p
 * application may set any agent it likes (`identify::Config::with_agent_version`).
 */
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PeerId, PeerStore } from '@libp2p/interface'

const LEGACY_ONLY_AGENTS = /^rust-libp2p\//
const STANDARD_AGENTS = /^js-libp2p\//

/** Whether a peer with this identify agent reads only legacy peer records */
export function readsOnlyLegacyRecords (agent: string): boolean {
  return LEGACY_ONLY_AGENTS.test(agent)
}

/** Whether a peer with this identify agent is known to open standard peer records (any other may be a Rust one) */
export function readsStandardRecords (agent: string): boolean {
  return STANDARD_AGENTS.test(agent)
}

/** The agent identify stored for the peer, or `undefined` when the peer store has none (yet) */
export async function agentVersionOf (peerStore: PeerStore | undefined, peerId: PeerId): Promise<string | undefined> {
  if (peerStore == null) {
    return undefined
  }

  try {
    const agent = (await peerStore.get(peerId)).metadata.get('AgentVersion')
    return agent == null ? undefined : uint8ArrayToString(agent)
  } catch {
    // never met: nothing known
    return undefined
  }
}
