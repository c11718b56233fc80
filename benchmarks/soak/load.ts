/**
 * The soak's load: honest clients and hostile ones against one rendezvous server on 127.0.0.1, each worker a loop
 * that ends at the deadline. Every request is bounded by a timeout; every outcome is counted by kind and status.
 *
 * Honest: libp2p nodes with the package's client register themselves under a rolling set of namespaces with short
 * TTLs (so registrations expire and are swept all along), discover with cookie chains, unregister; now and then a
 * node is replaced by one with a new identity (connection churn).
 *
 * Hostile: random bytes; a length prefix announcing a megabyte and then nothing; silent streams left for the
 * server's timeout; another peer's record; a record above the size the server accepts; forged cookies; one
 * identity flooding namespaces past its limits and new identities filling the store past its byte budget.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { rendezvousClient } from '../../src/client/index.ts'
import { PROTOCOL } from '../../src/constants.ts'
import { RendezvousError } from '../../src/errors.ts'
import { sealPeerRecord } from '../../src/protocol/peer-record.ts'
import { Message, exchange, statusOf } from '../server/raw-client.ts'
import type { RendezvousClient } from '../../src/client/types.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type ClientNode = Libp2p<{ identify: unknown, rendezvous: RendezvousClient }>

export interface LoadPlan {
  /** Honest client nodes at once */
  honest: number
  /** Hostile workers at once (each with a node of its own) */
  hostile: number
  /** How often one honest node is replaced by a new identity, in ms */
  churnMs: number
  /** Time allowed for one request, in ms */
  requestTimeoutMs: number
}

/** Outcome counts, `kind status` -> count */
export type Outcomes = Map<string, number>

const REQUEST_NAMESPACES = 20

async function createClient (privateKey?: PrivateKey): Promise<ClientNode> {
  return createLibp2p({
    ...(privateKey == null ? {} : { privateKey }),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // the hostile nodes come and go fast; nothing here needs the connection manager's pruning
    connectionManager: { maxConnections: 64 },
    services: { identify: identify(), rendezvous: rendezvousClient() }
  }) as Promise<ClientNode>
}

function count (outcomes: Outcomes, kind: string, status: string): void {
  const key = `${kind} ${status}`
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
}

function statusOfError (err: any): string {
  return err instanceof RendezvousError ? err.status : (err?.name ?? 'Error')
}

function pick <T> (items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]
}

/** Runs until `deadline`; resolves with what every request came to */
export async function runLoad (target: Multiaddr, deadline: number, plan: LoadPlan): Promise<Outcomes> {
  const outcomes: Outcomes = new Map()
  const honest = await Promise.all(Array.from({ length: plan.honest }, async () => createClient()))
  const nodes = new Set<ClientNode>(honest)
  const timeout = (): AbortSignal => AbortSignal.timeout(plan.requestTimeoutMs)

  const honestWorker = async (slot: number): Promise<void> => {
    while (Date.now() < deadline) {
      const node = honest[slot]
      const ns = `soak/${Math.floor(Math.random() * REQUEST_NAMESPACES)}`
      const roll = Math.random()

      try {
        if (roll < 0.4) {
          await node.services.rendezvous.register(target, ns, { ttl: 2 + Math.floor(Math.random() * 20), signal: timeout() })
          count(outcomes, 'register', 'OK')
        } else if (roll < 0.9) {
          // cookie chains: the client continues from the cookie it kept for this namespace
          await node.services.rendezvous.discover(target, ns, { limit: 50, signal: timeout() })
          count(outcomes, 'discover', 'OK')
        } else {
          await node.services.rendezvous.unregister(target, ns, { signal: timeout() })
          count(outcomes, 'unregister', 'sent')
        }
      } catch (err) {
        count(outcomes, roll < 0.4 ? 'register' : roll < 0.9 ? 'discover' : 'unregister', statusOfError(err))
      }
    }
  }

  // one honest node at a time replaced by a new identity: its connections close, a new one opens
  const churn = async (): Promise<void> => {
    let next = 0
    while (Date.now() + plan.churnMs < deadline) {
      await new Promise(resolve => setTimeout(resolve, plan.churnMs))
      const slot = next++ % honest.length
      const old = honest[slot]
      const fresh = await createClient()
      nodes.add(fresh)
      honest[slot] = fresh
      nodes.delete(old)
      await old.stop()
      count(outcomes, 'churn', 'replaced')
    }
  }

  const hostileWorker = async (): Promise<void> => {
    let node = await createClient()
    nodes.add(node)
    const victim = await generateKeyPair('Ed25519')
    const victimRecord = await sealPeerRecord(victim, peerIdFromPrivateKey(victim), [multiaddr('/ip4/127.0.0.1/tcp/1')]) as Uint8Array<ArrayBuffer>
    const padding = Array.from({ length: 80 }, (_, i) => multiaddr(`/dns4/padding-${i}.example.com/tcp/${1000 + i}`))
    let flood = 0

    while (Date.now() < deadline) {
      const attack = pick(['random', 'huge-prefix', 'silent', 'other-peer', 'large-record', 'forged-cookie', 'flood', 'flood', 'flood', 'flood'])

      try {
        if (attack === 'random' || attack === 'huge-prefix' || attack === 'silent') {
          const stream = await node.dialProtocol(target, PROTOCOL, { signal: timeout() })
          if (attack === 'random') {
            stream.send(globalThis.crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 300))))
          } else if (attack === 'huge-prefix') {
            stream.send(Uint8Array.from([0x80, 0x80, 0x40, 1, 2, 3]))
          }
          // what the server does with it (reset, close, timeout) ends the stream; do not wait longer than a request
          await new Promise<void>(resolve => {
            const timer = setTimeout(() => { stream.abort(new Error('soak: giving up')); resolve() }, plan.requestTimeoutMs)
            stream.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
          })
          count(outcomes, attack, stream.status)
        } else if (attack === 'other-peer') {
          const reply = await exchange(node, target, PROTOCOL, { type: Message.MessageType.REGISTER, register: { ns: 'soak/stolen', signedPeerRecord: victimRecord } }, timeout())
          count(outcomes, attack, statusOf(reply))
        } else if (attack === 'large-record') {
          const record = await sealPeerRecord((node as any).components.privateKey, node.peerId, padding) as Uint8Array<ArrayBuffer>
          const reply = await exchange(node, target, PROTOCOL, { type: Message.MessageType.REGISTER, register: { ns: 'soak/large', signedPeerRecord: record } }, timeout())
          count(outcomes, attack, statusOf(reply))
        } else if (attack === 'forged-cookie') {
          const cookie = globalThis.crypto.getRandomValues(new Uint8Array(40))
          const reply = await exchange(node, target, PROTOCOL, { type: Message.MessageType.DISCOVER, discover: { ns: 'soak/1', cookie } }, timeout())
          count(outcomes, attack, statusOf(reply))
        } else {
          // namespaces of its own, as many as it is allowed; a new identity once refused, to fill the store
          const ttl = 120
          await node.services.rendezvous.register(target, `soak/flood/${node.peerId.toString().slice(-8)}/${flood++}`, { ttl, signal: timeout() })
          count(outcomes, attack, 'OK')
        }
      } catch (err) {
        const status = statusOfError(err)
        count(outcomes, attack, status)

        if (attack === 'flood' && (status === 'E_NOT_AUTHORIZED' || status === 'E_UNAVAILABLE')) {
          nodes.delete(node)
          await node.stop()
          node = await createClient()
          nodes.add(node)
          flood = 0
        }
      }
    }
  }

  await Promise.all([
    ...honest.map(async (_, slot) => honestWorker(slot)),
    ...Array.from({ length: plan.hostile }, async () => hostileWorker()),
    churn()
  ])
  await Promise.all([...nodes].map(async node => node.stop()))

  return outcomes
}
