import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { SeqIndex } from '../../../src/server/store/seq-index.ts'

interface Item { seq: number }

type Operation =
  | { kind: 'append', gap: number }
  | { kind: 'remove', pick: number }
  | { kind: 'after', pick: number, limit: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), gap: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('after' as const), pick: fc.nat(), limit: fc.integer({ min: 1, max: 20 }) }) }
)

describe('SeqIndex', () => {
  it('returns the live items after a position, in seq order, like filtering an array', () => {
    fc.assert(fc.property(fc.array(operation, { maxLength: 600, size: 'max' }), (operations) => {
      const index = new SeqIndex<Item>()
      let live: Item[] = []
      /** Every item ever appended, so that removals and cursors also hit removed ones */
      const appended: Item[] = []
      let seq = 0

      for (const op of operations) {
        if (op.kind === 'append') {
          seq += op.gap
          const item = { seq }
          index.append(item)
          appended.push(item)
          live.push(item)
        } else if (op.kind === 'remove') {
          const item = appended[op.pick % Math.max(1, appended.length)]

          if (item != null) {
            expect(index.remove(item)).to.equal(live.includes(item))
            live = live.filter(i => i !== item)
          }
        } else {
          // cursors land on live seqs, removed seqs and seqs that were never used
          const afterSeq = op.pick % (seq + 2)
          expect(index.after(afterSeq, op.limit)).to.deep.equal(live.filter(i => i.seq > afterSeq).slice(0, op.limit))
        }

        expect(index.size).to.equal(live.length)
        // tombstones never outnumber live items by more than the compaction threshold
        expect(index.slots).to.be.at.most(2 * live.length + 32)
      }

      expect(index.toArray()).to.deep.equal(live)
    }), { numRuns: 100 })
  })

  it('skips a long run of removed items after a cursor and still finds what follows', () => {
    const index = new SeqIndex<Item>()
    const items = Array.from({ length: 1000 }, (_, i) => ({ seq: i + 1 }))
    items.forEach(item => { index.append(item) })

    // remove 400 in the middle: fewer than the live ones, so no compaction hides the run of tombstones
    items.slice(100, 500).forEach(item => { expect(index.remove(item)).to.be.true() })
    expect(index.slots).to.equal(1000)

    expect(index.after(100, 2)).to.deep.equal([items[500], items[501]])
    expect(index.after(99, 2)).to.deep.equal([items[99], items[500]])
    expect(index.after(250, 1)).to.deep.equal([items[500]])
    // items appended later are found through the same skipped run
    index.append({ seq: 2000 })
    items.slice(500).forEach(item => { index.remove(item) })
    expect(index.after(0, 200).map(i => i.seq)).to.deep.equal([...items.slice(0, 100).map(i => i.seq), 2000])
  })

  it('refuses an item whose seq is not above the last one', () => {
    const index = new SeqIndex<Item>()
    index.append({ seq: 5 })

    expect(() => { index.append({ seq: 5 }) }).to.throw(RangeError)
    expect(() => { index.append({ seq: 4 }) }).to.throw(RangeError)
  })

  it('does not remove an item it does not hold, even one with the same seq', () => {
    const index = new SeqIndex<Item>()
    index.append({ seq: 1 })

    expect(index.remove({ seq: 1 })).to.be.false()
    expect(index.remove({ seq: 2 })).to.be.false()
    expect(index.size).to.equal(1)
  })

  it('releases its slots once everything is removed', () => {
    const index = new SeqIndex<Item>()
    const items = Array.from({ length: 10 }, (_, i) => ({ seq: i + 1 }))
    items.forEach(item => { index.append(item) })
    items.forEach(item => { index.remove(item) })

    expect(index.size).to.equal(0)
    expect(index.slots).to.equal(0)
    expect(index.after(0, 10)).to.be.empty()
  })
})
