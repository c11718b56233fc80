import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { defaultNamespaces, deriveNamespaces, mergeNamespaces, sameNamespaces } from '../../../../src/discovery/state/namespaces.ts'
import type { NodeState } from '../../../../src/discovery/options.ts'

function state (overrides: Partial<NodeState> = {}): NodeState {
  return { topics: [], hasPubsub: true, runsRelay: false, needsRelay: false, addresses: [], ...overrides }
}

describe('namespaces from node state', () => {
  const options = resolveOptions({})

  it('derives nothing for a node with no topics, no relay role, no dapp and no user namespaces', () => {
    expect(deriveNamespaces(state(), options)).to.deep.equal([])
  })

  it('registers and discovers floodsub:<topic> for every subscribed topic, quota 6', () => {
    const specs = deriveNamespaces(state({ topics: ['chat', 'blocks'] }), options)

    expect(specs).to.deep.include({ ns: 'floodsub:chat', kind: 'topic', topic: 'chat', register: true, discover: true, quota: 6 })
    expect(specs).to.deep.include({ ns: 'floodsub:blocks', kind: 'topic', topic: 'blocks', register: true, discover: true, quota: 6 })
  })

  it('registers a relay server under /libp2p/relay without discovering relays', () => {
    expect(deriveNamespaces(state({ runsRelay: true }), options)).to.deep.equal([
      { ns: '/libp2p/relay', kind: 'relay', register: true, discover: false, quota: 0 }
    ])
  })

  it('discovers /libp2p/relay with quota 2 when the node needs a relay', () => {
    expect(deriveNamespaces(state({ needsRelay: true }), options)).to.deep.equal([
      { ns: '/libp2p/relay', kind: 'relay', register: false, discover: true, quota: 2 }
    ])
  })

  it('maps a dapp id to /dapp/<id> with quota 4', () => {
    expect(deriveNamespaces(state(), resolveOptions({ dapp: 'slate' }))).to.deep.equal([
      { ns: '/dapp/slate', kind: 'dapp', register: true, discover: true, quota: 4 }
    ])
  })

  it('takes user namespaces with their own flags and quota', () => {
    const specs = deriveNamespaces(state(), resolveOptions({
      namespaces: [{ ns: 'a' }, { ns: 'b', register: false, quota: 1 }, { ns: 'c', discover: false }]
    }))

    expect(specs).to.deep.equal([
      { ns: 'a', kind: 'user', register: true, discover: true, quota: 4 },
      { ns: 'b', kind: 'user', register: false, discover: true, quota: 1 },
      { ns: 'c', kind: 'user', register: true, discover: false, quota: 4 }
    ])
  })

  it('lets deriveNamespaces replace the rules, seeing the defaults', () => {
    let seen: unknown
    const specs = deriveNamespaces(state({ topics: ['chat'] }), resolveOptions({
      deriveNamespaces: (s, defaults) => {
        seen = defaults
        return s.topics.map(topic => ({ ns: `my-app/${topic}`, kind: 'user', register: true, discover: true, quota: 2 }))
      }
    }))

    expect(seen).to.have.lengthOf(1)
    expect(specs).to.deep.equal([{ ns: 'my-app/chat', kind: 'user', register: true, discover: true, quota: 2 }])
  })

  it('merges duplicates and drops invalid and idle namespaces, reporting the invalid ones', () => {
    const invalid: string[] = []
    const specs = mergeNamespaces([
      { ns: 'x', kind: 'user', register: true, discover: false, quota: 0 },
      { ns: 'x', kind: 'relay', register: false, discover: true, quota: 3 },
      { ns: '', kind: 'user', register: true, discover: true, quota: 1 },
      { ns: 'y'.repeat(300), kind: 'user', register: true, discover: true, quota: 1 },
      { ns: 'idle', kind: 'user', register: false, discover: false, quota: 1 },
      { ns: 'neg', kind: 'user', register: false, discover: true, quota: -5 }
    ], (ns) => invalid.push(ns))

    expect(specs).to.deep.equal([
      { ns: 'x', kind: 'relay', register: true, discover: true, quota: 3 },
      { ns: 'neg', kind: 'user', register: false, discover: true, quota: 0 }
    ])
    expect(invalid).to.have.lengthOf(2)
  })

  it('keeps a topic counting as a topic when the same namespace is also registered by hand', () => {
    const specs = deriveNamespaces(state({ topics: ['chat'] }), options, ['floodsub:chat', 'by-hand'])

    expect(specs).to.deep.equal([
      { ns: 'floodsub:chat', kind: 'topic', topic: 'chat', register: true, discover: true, quota: 6 },
      { ns: 'by-hand', kind: 'user', register: true, discover: false, quota: 0 }
    ])
  })

  it('takes a closest namespace\'s count as its quota', () => {
    expect(deriveNamespaces(state(), resolveOptions({ namespaces: [{ ns: 'dht', closest: 4 }] }))).to.deep.equal([
      { ns: 'dht', kind: 'user', register: true, discover: true, quota: 4, selection: 'closest' }
    ])
  })

  it('compares spec lists regardless of order', () => {
    const a = defaultNamespaces(state({ topics: ['a', 'b'] }), options)
    expect(sameNamespaces(a, [...a].reverse())).to.be.true()
    expect(sameNamespaces(a, a.slice(1))).to.be.false()
  })
})
