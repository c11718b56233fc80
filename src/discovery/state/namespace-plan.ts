/**
 * The namespaces in use: derived from each node state the watcher reads (namespaces.ts) together with those
 * registered through `register()`, and announced as a `namespaces` event only when they changed, for the units
 * that register, discover and keep quotas to follow. A namespace that cannot be used is logged once, not at every
 * state.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { deriveNamespaces, sameNamespaces } from './namespaces.ts'
import type { DeriveOptions } from './namespaces.ts'
import type { NamespaceSpec, NodeState } from '../options.ts'
import type { Logger } from '@libp2p/interface'

export interface NamespacePlanEvents {
  /** The namespaces in use changed */
  namespaces: CustomEvent<NamespaceSpec[]>
}

export class NamespacePlan extends TypedEventEmitter<NamespacePlanEvents> {
  private readonly options: DeriveOptions
  private readonly log: Logger
  /** Namespaces registered through `register()` */
  private readonly manual = new Set<string>()
  private readonly invalidReported = new Set<string>()
  private current: NamespaceSpec[] = []

  constructor (options: DeriveOptions, log: Logger) {
    super()
    this.options = options
    this.log = log
  }

  /** The namespaces in use now */
  get specs (): NamespaceSpec[] {
    return this.current
  }

  /** Those the node registers under now */
  registered (): string[] {
    return this.current.filter(s => s.register).map(s => s.ns)
  }

  /** A namespace registered through `register()`, kept until `unregister()` */
  addManual (ns: string): void {
    this.manual.add(ns)
  }

  removeManual (ns: string): void {
    this.manual.delete(ns)
  }

  /** Derives the namespaces from `state`; sends `namespaces` when they changed */
  apply (state: NodeState): void {
    const specs = deriveNamespaces(state, this.options, this.manual, (ns, problem) => {
      if (!this.invalidReported.has(ns)) {
        this.invalidReported.add(ns)
        this.log.error('ignoring namespace "%s": %s', ns, problem)
      }
    })

    if (!sameNamespaces(specs, this.current)) {
      this.log('namespaces now %s', specs.map(s => `${s.ns}${s.register ? ' +reg' : ''}${s.discover ? ` +disc(${s.quota})` : ''}`).join(', '))
      this.current = specs
      this.safeDispatchEvent('namespaces', { detail: specs })
    }
  }

  /** A stop: none in use (the units forget theirs as they stop), the manual ones stay */
  clear (): void {
    this.current = []
  }
}
