/**
 * What the discovery module sees of pubsub: the node's topics, and which connected peers pubsub knows to be
 * subscribed to each (gossipsub learns a peer's subscriptions a few round trips after the connection opens, and
 * forgets them when it closes). The module counts a topic peer only once it is listed here.
 */
import type { PeerId } from '@libp2p/interface'

type Listener = (evt: unknown) => void

export class SimPubSub {
  private readonly topics: string[]
  /** topic -> connected peers known to be subscribed, by id */
  private readonly subscribers = new Map<string, Map<string, PeerId>>()
  private listeners: Listener[] = []

  constructor (topics: string[]) {
    this.topics = topics

    for (const topic of topics) {
      this.subscribers.set(topic, new Map())
    }
  }

  getTopics (): string[] {
    return this.topics
  }

  getSubscribers (topic: string): PeerId[] {
    return [...(this.subscribers.get(topic)?.values() ?? [])]
  }

  /** Connected peers known to be subscribed to `topic` */
  count (topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0
  }

  // the node's topics are fixed for its session: these exist because the module wraps them
  subscribe (): void {}
  unsubscribe (): void {}

  addEventListener (type: string, listener: Listener): void {
    if (type === 'subscription-change') {
      this.listeners.push(listener)
    }
  }

  removeEventListener (type: string, listener: Listener): void {
    this.listeners = this.listeners.filter(l => l !== listener)
  }

  /** Pubsub learned the subscriptions of a connected peer; returns whether any of them is one of ours */
  learn (peerId: PeerId, id: string, theirTopics: readonly string[]): boolean {
    let shared = false

    for (const topic of theirTopics) {
      const known = this.subscribers.get(topic)

      if (known != null && !known.has(id)) {
        known.set(id, peerId)
        shared = true
      }
    }

    if (shared) {
      for (const listener of this.listeners) {
        listener({ type: 'subscription-change', detail: { peerId } })
      }
    }

    return shared
  }

  /** The peer disconnected: pubsub forgets it */
  forget (id: string): void {
    for (const known of this.subscribers.values()) {
      known.delete(id)
    }
  }
}
