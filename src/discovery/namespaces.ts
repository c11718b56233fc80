/**
 * Node state -> the namespaces the node registers under and discovers. Pure functions: the module feeds them
 * the state it reads (see node-state.ts) about once a second.
 */
import { namespaceProblem } from '../protocol/namespace.ts'
import { DIAL_PRIORITY, RELAY_NAMESPACE, dappNamespace, topicNamespace } from './options.ts'
import type { NamespaceSpec, NodeState, ResolvedOptions } from './options.ts'

/**
 * The default rules:
 * - each subscribed topic T: register and discover `floodsub:T`, quota `quotas.topic`;
 * - a node that runs a relay server registers under `/libp2p/relay`; a node that needs relays discovers it,
 * quota `quotas.relay` (a relay that also needs relays does both);
 * - `dapp: id`: register and discover `/dapp/<id>`, quota `quotas.dapp`;
 * - each user namespace as given (register and discover default to true, quota to `quotas.namespace`).
 */
export function defaultNamespaces (state: NodeState, options: Pick<ResolvedOptions, 'quotas' | 'dapp' | 'namespaces'>): NamespaceSpec[] {
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
    specs.push({
      ns: user.ns,
      kind: 'user',
      register: user.register ?? true,
      discover: user.discover ?? true,
      quota: user.quota ?? options.quotas.namespace
    })
  }

  return specs
}

/**
 * Merges specs that name the same namespace (register and discover are OR-ed, the larger quota and the kind
 * with the higher dial priority win), and drops specs that do nothing or whose namespace no point would accept.
 * `onInvalid` hears about the dropped invalid ones.
 */
export function normalizeNamespaces (specs: NamespaceSpec[], onInvalid?: (ns: string, problem: string) => void): NamespaceSpec[] {
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

    const quota = Number.isFinite(spec.quota) && spec.quota > 0 ? Math.floor(spec.quota) : 0
    const current = byNs.get(spec.ns)

    if (current == null) {
      byNs.set(spec.ns, { ...spec, register: spec.register === true, discover: spec.discover === true, quota })
      continue
    }

    const kind = DIAL_PRIORITY[spec.kind] > DIAL_PRIORITY[current.kind] ? spec.kind : current.kind
    byNs.set(spec.ns, {
      ns: spec.ns,
      kind,
      topic: current.topic ?? spec.topic,
      register: current.register || spec.register === true,
      discover: current.discover || spec.discover === true,
      quota: Math.max(current.quota, quota)
    })
  }

  return [...byNs.values()].filter(spec => spec.register || spec.discover)
}

/** The namespaces for a state: the default rules, then the user's `deriveNamespaces` if any, then normalized */
export function deriveNamespaces (state: NodeState, options: Pick<ResolvedOptions, 'quotas' | 'dapp' | 'namespaces' | 'deriveNamespaces'>, onInvalid?: (ns: string, problem: string) => void): NamespaceSpec[] {
  const defaults = defaultNamespaces(state, options)
  const specs = options.deriveNamespaces == null ? defaults : options.deriveNamespaces(state, defaults)
  return normalizeNamespaces(Array.isArray(specs) ? specs : [], onInvalid)
}

/** True when two spec lists ask for the same thing (order does not matter) */
export function sameNamespaces (a: NamespaceSpec[], b: NamespaceSpec[]): boolean {
  if (a.length !== b.length) {
    return false
  }

  const key = (s: NamespaceSpec): string => JSON.stringify([s.ns, s.kind, s.topic ?? '', s.register, s.discover, s.quota])
  const keys = new Set(a.map(key))
  return b.every(s => keys.has(key(s)))
}
