import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { ExpiryHeap } from '../../../src/server/store/expiry-heap.ts'

interface Item { id: number, expiresAt: number, heapSlot: number }

type Operation =
  | { kind: 'push', expiresAt: number }
  | { kind: 'remove', pick: number }
  | { kind: 'pop', now: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), expiresAt: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), now: fc.integer({ min: 0, max: 100 }) }) }
)

describe('ExpiryHeap', () => {
  it('pops exactly the items expired at or before now, earliest first, like a sorted array', () => {
    fc.assert(fc.property(fc.array(operation, { maxLength: 400, size: 'max' }), (operations) => {
      const heap = new ExpiryHeap<Item>()
      let held: Item[] = []
      const pushed: Item[] = []

      for (const op of operations) {
        if (op.kind === 'push') {
          const item = { id: pushed.length, expiresAt: op.expiresAt, heapSlot: -1 }
          heap.push(item)
          pushed.push(item)
          held.push(item)
        } else if (op.kind === 'remove') {
          const item = pushed[op.pick % Math.max(1, pushed.length)]

          if (item != null) {
            expect(heap.remove(item)).to.equal(held.includes(item))
            expect(item.heapSlot).to.equal(-1)
            held = held.filter(i => i !== item)
          }
        } else {
          const popped: Item[] = []
          let item: Item | undefined
          while ((item = heap.popExpired(op.now)) != null) {
            popped.push(item)
          }

          const expired = held.filter(i => i.expiresAt <= op.now)
          expect(popped.map(i => i.expiresAt)).to.deep.equal(expired.map(i => i.expiresAt).sort((a, b) => a - b))
          expect(popped.map(i => i.id).sort((a, b) => a - b)).to.deep.equal(expired.map(i => i.id))
          held = held.filter(i => i.expiresAt > op.now)
        }

        expect(heap.size).to.equal(held.length)
      }
    }), { numRuns: 300 })
  })

  it('refuses an item without a finite expiry time', () => {
    const heap = new ExpiryHeap<Item>()

    expect(() => { heap.push({ id: 0, expiresAt: NaN, heapSlot: -1 }) }).to.throw(RangeError, 'expiresAt NaN is not a finite number')
    expect(() => { heap.push({ id: 1, expiresAt: Infinity, heapSlot: -1 }) }).to.throw(RangeError)
    expect(heap.size).to.equal(0)
  })

  it('refuses to remove an item it does not hold, even one whose slot is taken here by another', () => {
    const heap = new ExpiryHeap<Item>()
    const other = new ExpiryHeap<Item>()
    const mine = { id: 0, expiresAt: 5, heapSlot: -1 }
    const theirs = { id: 1, expiresAt: 7, heapSlot: -1 }
    heap.push(mine)
    other.push(theirs)

    // both sit in slot 0 of their own heap
    expect(heap.remove(theirs)).to.be.false()
    expect(theirs.heapSlot).to.equal(0)
    expect(heap.size).to.equal(1)
    expect(heap.popExpired(10)).to.equal(mine)
  })
})
