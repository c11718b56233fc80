import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { NamespacePlan } from '../../../../src/discovery/state/namespace-plan.ts'
import type { NamespaceSpec, NodeState } from '../../../../src/discovery/options.ts'

function state (topics: string[]): NodeState {
  return { topics, hasPubsub: true, runsRelay: false, needsRelay: false, addresses: [] }
}

describe('namespace plan', () => {
  it('announces the namespaces only when they change, with those registered by hand', () => {
    const plan = new NamespacePlan(resolveOptions({}), defaultLogger().forComponent('test'))
    const announced: NamespaceSpec[][] = []
    plan.addEventListener('namespaces', (evt) => announced.push(evt.detail))

    plan.apply(state(['a']))
    plan.apply(state(['a']))
    expect(announced.map(specs => specs.map(s => s.ns))).to.deep.equal([['floodsub:a']])

    plan.addManual('/mine')
    plan.apply(state(['a']))
    expect(plan.registered()).to.deep.equal(['floodsub:a', '/mine'])

    plan.removeManual('/mine')
    plan.apply(state([]))
    expect(announced.map(specs => specs.map(s => s.ns))).to.deep.equal([['floodsub:a'], ['floodsub:a', '/mine'], []])
  })

  it('leaves out a namespace that cannot be used and keeps the others', () => {
    const plan = new NamespacePlan(resolveOptions({ deriveNamespaces: (_, defaults) => [...defaults, { ns: '', kind: 'user', register: true, discover: false, quota: 0 }] }), defaultLogger().forComponent('test'))
    plan.apply(state(['a']))
    expect(plan.specs.map(s => s.ns)).to.deep.equal(['floodsub:a'])
  })
})
