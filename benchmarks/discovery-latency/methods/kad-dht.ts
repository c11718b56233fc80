/**
 * `@libp2p/kad-dht` provider records: every node bootstraps to a hub that runs the DHT, announces itself as a
 * provider of a key derived from the topic, and looks up the key's providers every 500 ms until it is at quota,
 * dialing what it finds. The DHT's own random-walk discoveries are not dialed: here every node is in the topic,
 * so any peer would do, which would flatter the DHT; in a real network only the provider lookup is topic-aware.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { sha256 } from '@noble/hashes/sha2.js'
import { debug } from '../../lib/print.ts'
import { quotaDialer } from '../dialer.ts'
import { runSwarm } from '../harness.ts'
import { bootstrapTo, startHub } from './hub-only.ts'
import type { BenchNode } from '../../lib/nodes.ts'
import type { NodeRole, SwarmHelpers } from '../harness.ts'
import type { DiscoveryMethod } from '../types.ts'

/** A private DHT, so nothing here could ever mix with a public one */
const DHT_PROTOCOL = '/bench/kad/1.0.0'

/** How long to wait between provider lookups while below quota, in ms */
const LOOKUP_INTERVAL_MS = 500

function dhtServices (): Record<string, (components: any) => unknown> {
  return {
    ping: ping(),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: false,
      // memory and loopback addresses are "private": the default mapper would drop every one of them
      peerInfoMapper: passthroughMapper,
      allowQueryWithZeroPeers: true
    })
  }
}

/**
 * The DHT key for a topic, as a CID. This package does not depend on `multiformats`, so the CID of a peer id
 * derived from the topic's hash stands in: deterministic, and a valid CID for `provide`/`findProviders`.
 */
async function topicKey (topic: string): Promise<ReturnType<BenchNode['peerId']['toCID']>> {
  const key = await generateKeyPairFromSeed('Ed25519', sha256(new TextEncoder().encode(topic)))
  return peerIdFromPrivateKey(key).toCID()
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

async function findTopicPeers (node: BenchNode, helpers: SwarmHelpers, role: NodeRole, signal: AbortSignal): Promise<void> {
  const key = await topicKey(helpers.env.topic)
  const dial = quotaDialer(node, helpers)
  const running = (): boolean => !signal.aborted && node.status === 'started'

  // announce in the background; a DHT with an empty routing table refuses, so retry until identify filled it
  void (async () => {
    while (running()) {
      try {
        await node.contentRouting.provide(key, { signal })
        debug(`provided ${node.peerId}`)
        return
      } catch (err: any) {
        debug(`provide failed: ${err.message}`)
        await sleep(200, signal)
      }
    }
  })()

  if (role === 'late') {
    return
  }

  while (running() && helpers.topicPeers(node) < helpers.env.quota) {
    try {
      for await (const provider of node.contentRouting.findProviders(key, { signal })) {
        debug(`found provider ${provider.id}`)
        dial(provider.id, provider.multiaddrs)
      }
    } catch (err: any) {
      debug(`find providers failed: ${err.message}`)
    }
    await sleep(LOOKUP_INTERVAL_MS, signal)
  }
}

export const method: DiscoveryMethod = {
  name: 'kad-dht',
  label: 'kad-dht providers',
  description: 'Bootstrap to a DHT hub, provide a key derived from the topic, look up its providers every 500 ms and dial them while below quota.',

  async run (env) {
    const controller = new AbortController()
    return runSwarm(env, {
      async infrastructure () {
        return {
          nodes: [await startHub(env, [], dhtServices())],
          beforeStop: () => { controller.abort() }
        }
      },
      nodeInit (_, infra) {
        return { peerDiscovery: [bootstrapTo(infra.nodes[0])], services: dhtServices() }
      },
      afterStart (node, _, helpers, role) {
        void findTopicPeers(node, helpers, role, controller.signal)
      }
    })
  }
}
