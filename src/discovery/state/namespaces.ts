/**
 * Node state -> the namespaces the node registers under and discovers. Pure functions: the module feeds them
 * the state the watcher reads, and the namespaces registered through `register()`.
 */
import { RELAY_NAMESPACE } from '../../constants.ts'
import { namespaceProblem } from '../../protocol/namespace.ts'
import { DIAL_PRIORITY } from '../constants.ts'
import { dappNamespace, topicNamespace } from '../namespace-names.ts'
import type { ResolvedOptions } from '../config.ts'
import type { NamespaceSpec, NodeState } from '../options.ts'

export type NamespaceOptions = Pick<ResolvedOptions, 'quotas' | 'dapp' | 'namespaces'>

/**
 * The default rules:
 * - each subscribed topic T: register and discover `floodsub:T`, quota `quotas.topic`;
 * - a node that runs a relay server registers under `/libp2p/relay`; a node that needs relays discovers it,
 * quota `quotas.relay` (a relay that also needs relays does both);
 * - `dapp: id`: register and discover `/dapp/<id>`, quota `quotas.dapp`;
 * - each user namespace as given (register and discover default to true, quota to `quotas.namespace`, or
 * `closest` registrants nearest in kad-dht's keyspace).
 */
export function defaultNamespaces (state: NodeState, options: NamespaceOptions): NamespaceSpec[] {
  const specs: NamespaceSpec[] = []

  for (const topic of state.topics) {
    specs.push({ ns: topicNamespace(topic), kind: 'topic', topic, register: true, discover: true, quota: options.quotas.topic })
  }

  if (state.runsRelay || state.needsRelay) {
    specs.push({
      ns: RELAY_NAMESPACE,
      kind: 'relay',
      register: state.runsRelay,
      discover: state.needsRelay,
      quota: state.needsRelay ? options.quotas.relay : 0
    })
  }

  if (options.dapp != null) {
    specs.push({ ns: dappNamespace(options.dapp), kind: 'dapp', register: true, discover: true, quota: options.quotas.dapp })
  }

  for (const user of options.namespaces) {
    const spec: NamespaceSpec = {
      ns: user.ns,
      kind: 'user',
      register: user.register ?? true,
      discover: user.discover ?? true,
      quota: user.closest ?? user.quota ?? options.quotas.namespace
    }

    if (user.closest != null) {
      spec.selection = 'closest'
    }

    specs.push(spec)
  }

  return specs
}

/**
 * The one merge of namespace specs: specs that name the same namespace become one (register and discover are
 * OR-ed, the larger quota wins, and the kind is that of the discovering spec with the highest dial priority, so
 * that a namespace also registered by hand keeps counting its peers as before). Specs that do nothing, and specs
 * whose namespace no point would accept, are dropped; `onInvalid` hears about the invalid ones.
 */
export function mergeNamespaces (specs: NamespaceSpec[], onInvalid?: (ns: string, problem: string) => void): NamespaceSpec[] {
  const byNs = new Map<string, NamespaceSpec>()

  for (const spec of specs) {
    if (spec == null || typeof spec.ns !== 'string') {
      onInvalid?.(String(spec?.ns), 'namespace is not a string')
      continue
    }

    const problem = namespaceProblem(spec.ns)

    if (problem != null) {
      onInvalid?.(spec.ns, problem)
      continue
    }

    const next: NamespaceSpec = {
      ns: spec.ns,
      kind: spec.kind in DIAL_PRIORITY ? spec.kind : 'user',
      register: spec.register === true,
      discover: spec.discover === true,
      quota: Number.isFinite(spec.quota) && spec.quota > 0 ? Math.floor(spec.quota) : 0
    }

    if (spec.topic != null) {
      next.topic = spec.topic
    }

    if (spec.selection === 'closest') {
      next.selection = 'closest'
    }

    const current = byNs.get(spec.ns)
    byNs.set(spec.ns, current == null ? next : combine(current, next))
  }

  return [...byNs.values()].filter(spec => spec.register || spec.discover)
}

function combine (a: NamespaceSpec, b: NamespaceSpec): NamespaceSpec {
  // the spec that decides how peers count: a discovering one over a register-only one, then the dial priority
  const rank = (s: NamespaceSpec): number => (s.discover ? 10 : 0) + DIAL_PRIORITY[s.kind]
  const lead = rank(b) > rank(a) ? b : a
  const merged: NamespaceSpec = {
    ns: a.ns,
    kind: lead.kind,
    register: a.register || b.register,
    discover: a.discover || b.discover,
    quota: Math.max(a.quota, b.quota)
  }
  const topic = lead.topic ?? a.topic ?? b.topic

  if (topic != null) {
    merged.topic = topic
  }

  if (lead.selection === 'closest') {
    merged.selection = 'closest'
  }

  return merged
}

export interface DeriveOptions extends NamespaceOptions, Pick<ResolvedOptions, 'deriveNamespaces'> {}

/**
 * The namespaces for a state: the default rules, then the user's `deriveNamespaces` if any, plus the namespaces
 * registered by hand, merged
 */
export function deriveNamespaces (state: NodeState, options: DeriveOptions, manual: Iterable<string> = [], onInvalid?: (ns: string, problem: string) => void): NamespaceSpec[] {
  const defaults = defaultNamespaces(state, options)
  let specs = defaults

  if (options.deriveNamespaces != null) {
    const derived = options.deriveNamespaces(state, defaults)
    specs = Array.isArray(derived) ? derived : []
  }

  const registered: NamespaceSpec[] = [...manual].map(ns => ({ ns, kind: 'user', register: true, discover: false, quota: 0 }))
  return mergeNamespaces([...specs, ...registered], onInvalid)
}

/** True when two spec lists ask for the same thing (order does not matter) */
export function sameNamespaces (a: NamespaceSpec[], b: NamespaceSpec[]): boolean {
  if (a.length !== b.length) {
    return false
  }

  const key = (s: NamespaceSpec): string => JSON.stringify([s.ns, s.kind, s.topic ?? '', s.register, s.discover, s.quota, s.selection ?? 'any'])
  const keys = new Set(a.map(key))
  return b.every(s => keys.has(key(s)))
}
