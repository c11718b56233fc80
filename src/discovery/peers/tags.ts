/**
 * The tags on the peers kept for the quotas, so that the connection manager's pruning spares them: each kept peer
 * gets one tag per kind of namespace it is kept for, and loses it when it no longer counts. Peer store writes
 * are serialized, so that a later change never lands before an earlier one.
 */
import { PeerMap } from '@libp2p/peer-collections'
import { TAG_NAMES } from '../constants.ts'
import type { ResolvedOptions } from '../config.ts'
import type { ComponentLogger, Logger, PeerId, PeerStore } from '@libp2p/interface'

export interface TaggerComponents {
  peerStore: Pick<PeerStore, 'merge' | 'consumePeerRecord'>
  logger: ComponentLogger
}

/** The value of a tag, by its name, as the `tags` option sets it */
export function tagValue (name: string, tags: ResolvedOptions['tags']): number {
  const kind = (Object.keys(TAG_NAMES) as Array<keyof typeof TAG_NAMES>).find(k => TAG_NAMES[k] === name)

  switch (kind) {
    case 'topic': return tags.topic
    case 'relay': return tags.relay
    case 'dapp': return tags.dapp
    case 'user': return tags.namespace
    default: return tags.point
  }
}

export class Tagger {
  private readonly components: TaggerComponents
  private readonly value: (tag: string) => number
  private readonly log: Logger
  /** The tags set on each peer, as far as the writes queued go */
  private tagged = new PeerMap<Set<string>>()
  private chain: Promise<void> = Promise.resolve()

  /** `value` gives the value of a tag by its name */
  constructor (components: TaggerComponents, value: (tag: string) => number) {
    this.components = components
    this.value = value
    this.log = components.logger.forComponent('libp2p:rendezvous:discovery:tags')
  }

  /** Peers tagged now */
  get size (): number {
    return this.tagged.size
  }

  /** Makes the tags on every peer what `keep` says: what it lists is added, what it no longer lists removed */
  apply (keep: PeerMap<Set<string>>): void {
    const changes: Array<{ peerId: PeerId, add: string[], remove: string[] }> = []

    for (const [peerId, tags] of keep) {
      const current = this.tagged.get(peerId) ?? new Set()
      const add = [...tags].filter(tag => !current.has(tag))
      const remove = [...current].filter(tag => !tags.has(tag))

      if (add.length > 0 || remove.length > 0) {
        changes.push({ peerId, add, remove })
      }
    }

    for (const [peerId, tags] of this.tagged) {
      if (!keep.has(peerId)) {
        changes.push({ peerId, add: [], remove: [...tags] })
      }
    }

    const next = new PeerMap<Set<string>>()

    for (const [peerId, tags] of keep) {
      next.set(peerId, new Set(tags))
    }

    this.tagged = next

    if (changes.length > 0) {
      this.enqueue(changes)
    }
  }

  /** Removes every tag set, and resolves once the peer store has them all */
  async clear (): Promise<void> {
    const changes = [...this.tagged].map(([peerId, tags]) => ({ peerId, add: [], remove: [...tags] }))
    this.tagged = new PeerMap()
    this.enqueue(changes)
    await this.chain
  }

  private enqueue (changes: Array<{ peerId: PeerId, add: string[], remove: string[] }>): void {
    this.chain = this.chain.then(async () => {
      for (const { peerId, add, remove } of changes) {
        const tags: Record<string, { value: number } | undefined> = {}

        for (const name of add) {
          tags[name] = { value: this.value(name) }
        }

        for (const name of remove) {
          tags[name] = undefined
        }

        try {
          await this.components.peerStore.merge(peerId, { tags })
        } catch (err: any) {
          this.log.error('could not update the tags of %p - %e', peerId, err)
        }
      }
    })
  }
}
