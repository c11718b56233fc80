/**
 * The cache of checked signed peer records: unit tests with a counting check, then a real server, where a refresh
 * and a REGISTER in another namespace with the same record cost no signature check and change no answer.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'
import { VerifiedRecords } from '../../src/server/verified-records.ts'
import { createServerNode, exchange, ownRecord, register, TestNodes } from './fixtures.ts'
import type { ClientNode, ServerNode } from './fixtures.ts'
import type { RendezvousServerInit } from '../../src/server/index.ts'

const { ResponseStatus, MessageType } = Message

interface Opened { peer: string, envelope: Uint8Array }

/** A check that counts its calls and refuses records starting with 0xff */
function countingCheck (): { verify(envelope: Uint8Array): Promise<Opened>, calls: number } {
  const check = {
    calls: 0,
    async verify (envelope: Uint8Array): Promise<Opened> {
      check.calls++
      if (envelope[0] === 0xff) {
        throw new Error('bad signature')
      }
      return { peer: `peer-${envelope[0]}`, envelope }
    }
  }
  return check
}

describe('VerifiedRecords', () => {
  it('checks each distinct record once, however often and in whatever buffer its bytes come', async () => {
    const check = countingCheck()
    const records = new VerifiedRecords({ maxEntries: 10, verify: async (e) => check.verify(e) })

    for (let i = 0; i < 5; i++) {
      const bytes = Uint8Array.from([1, 2, 3])
      const opened = await records.open(bytes)
      expect(opened.peer).to.equal('peer-1')
      // the caller's bytes come back, not the first request's
      expect(opened.envelope).to.equal(bytes)
    }
    await records.open(Uint8Array.from([2, 2, 3]))

    expect(check.calls).to.equal(2)
    expect(records.stats()).to.deep.equal({ hits: 4, checks: 2, size: 2 })
  })

  it('never remembers a record that failed its check', async () => {
    const check = countingCheck()
    const records = new VerifiedRecords({ maxEntries: 10, verify: async (e) => check.verify(e) })

    for (let i = 0; i < 3; i++) {
      await expect(records.open(Uint8Array.from([0xff, 1]))).to.eventually.be.rejectedWith('bad signature')
    }
    expect(check.calls).to.equal(3)
    expect(records.stats().size).to.equal(0)
  })

  it('tells apart records that differ in one byte, or only in length', async () => {
    const check = countingCheck()
    const records = new VerifiedRecords({ maxEntries: 10, verify: async (e) => check.verify(e) })

    await records.open(Uint8Array.from([1, 2, 3]))
    await records.open(Uint8Array.from([1, 2, 4]))
    await records.open(Uint8Array.from([1, 2, 3, 0]))
    await records.open(Uint8Array.from([1, 2]))
    expect(check.calls).to.equal(4)
  })

  it('holds at most maxEntries records, and forgets first those not used since maxEntries / 2 newer ones came', async () => {
    const check = countingCheck()
    const records = new VerifiedRecords({ maxEntries: 4, verify: async (e) => check.verify(e) })
    const a = Uint8Array.from([1])
    const b = Uint8Array.from([2])
    const c = Uint8Array.from([3])

    await records.open(a)
    await records.open(b)
    await records.open(a) // a is used again
    await records.open(c) // two newer ones since b was last used: b goes
    expect(records.stats()).to.deep.equal({ hits: 1, checks: 3, size: 2 })

    await records.open(a)
    expect(check.calls).to.equal(3)
    await records.open(b)
    expect(check.calls).to.equal(4)

    const bounded = new VerifiedRecords({ maxEntries: 10, verify: async (e) => check.verify(e) })
    for (let i = 0; i < 100; i++) {
      await bounded.open(Uint8Array.from([i, 1]))
      expect(bounded.stats().size).to.be.at.most(10)
    }
    expect(bounded.stats().size).to.be.at.least(5)
  })

  it('checks every record when maxEntries is 0, and refuses a negative size', async () => {
    const check = countingCheck()
    const records = new VerifiedRecords({ maxEntries: 0, verify: async (e) => check.verify(e) })

    await records.open(Uint8Array.from([1]))
    await records.open(Uint8Array.from([1]))
    expect(check.calls).to.equal(2)
    expect(records.stats().size).to.equal(0)
    expect(() => new VerifiedRecords({ maxEntries: -1, verify: async (e) => check.verify(e) })).to.throw(InvalidParametersError)
  })
})

describe('server: REGISTER with records checked before', () => {
  const nodes = new TestNodes()
  const server = async (init?: RendezvousServerInit): Promise<ServerNode> => nodes.server(init)
  const client = async (): Promise<ClientNode> => nodes.client()

  afterEach(async () => {
    await nodes.stopAll()
  })

  /** How many signature checks the server ran, and how many it spared */
  function checksOf (point: ServerNode): { hits: number, checks: number } {
    const { hits, checks } = (point.services.rendezvous as any).records.stats()
    return { hits, checks }
  }

  it('checks the signature of a record once, for a refresh and for its other namespaces', async () => {
    const point = await server()
    const peer = await client()
    const record = await ownRecord(peer)

    for (const ns of ['a', 'b', 'c', 'a', 'b', 'c']) {
      expect((await register(peer, point, ns, { signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)
    }

    expect(checksOf(point)).to.deep.equal({ hits: 5, checks: 1 })
  })

  it('still refuses a record checked before when another peer sends it, or when it breaks a limit', async () => {
    const point = await server({ maxRecordAddresses: 1 })
    const owner = await client()
    const other = await client()
    const record = await ownRecord(owner, owner.getMultiaddrs().slice(0, 1))
    const wide = await ownRecord(owner, [...owner.getMultiaddrs(), ...owner.getMultiaddrs().map(ma => ma.encapsulate('/p2p-circuit'))], 2n)

    expect((await register(owner, point, 'ns', { signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)
    for (let i = 0; i < 2; i++) {
      // only the owner may register its record, checked before or not
      const stolen = await exchange(other, point, { type: MessageType.REGISTER, register: { ns: 'ns', signedPeerRecord: record } })
      expect(stolen.registerResponse?.status).to.equal(ResponseStatus.E_NOT_AUTHORIZED)
      // a record that passed the signature check but lists too many addresses is refused every time
      expect((await register(owner, point, 'ns', { signedPeerRecord: wide })).status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
    }

    expect(checksOf(point).checks).to.equal(2)
  })

  it('checks every record when verifiedRecordCacheSize is 0, and refuses a negative size', async () => {
    const point = await server({ verifiedRecordCacheSize: 0 })
    const peer = await client()
    const record = await ownRecord(peer)

    for (const ns of ['a', 'b', 'a']) {
      expect((await register(peer, point, ns, { signedPeerRecord: record })).status).to.equal(ResponseStatus.OK)
    }
    expect(checksOf(point)).to.deep.equal({ hits: 0, checks: 3 })
    await expect(createServerNode({ verifiedRecordCacheSize: -1 })).to.eventually.be.rejectedWith(/verifiedRecordCacheSize/)
  })
})
