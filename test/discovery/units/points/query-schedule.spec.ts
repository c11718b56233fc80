import { expect } from 'aegir/chai'
import { resolveOptions } from '../../../../src/discovery/config.ts'
import { SETTLE_QUIET, isFullPage, nextQueryDelay, settleCheckDelay } from '../../../../src/discovery/points/query-schedule.ts'
import type { QueryDelays, QueryTiming } from '../../../../src/discovery/points/query-schedule.ts'

describe('the query schedule', () => {
  const options = resolveOptions({ fastDiscoverInterval: 100, fastDiscoverWindow: 10_000, discoverInterval: 1000, maxDiscoverInterval: 8000, satisfiedDiscoverInterval: 30_000 })
  const middle = (): number => 0.5

  /** A query's delays, stepped from one answer to the next as the queries step them */
  function query (delays: QueryDelays, random: () => number = middle): { next(timing: QueryTiming): number, delays: QueryDelays } {
    const q = { delays, next: (timing: QueryTiming): number => 0 }
    q.next = (timing) => {
      const { delay, next } = nextQueryDelay(q.delays, timing, options, random)
      q.delays = next
      return delay
    }
    return q
  }

  it('starts over when something new came and doubles when nothing did', () => {
    const q = query({ fast: 400, interval: 4000, satisfied: false })
    expect(q.next({ added: 3, deficit: 2, age: 500 })).to.equal(100)
    expect(q.delays.interval).to.equal(1000)
    expect(q.next({ added: 0, deficit: 2, age: 500 })).to.equal(100)
    expect(q.next({ added: 0, deficit: 2, age: 500 })).to.equal(200)
    expect(q.next({ added: 0, deficit: 2, age: 20_000 })).to.equal(4000)
  })

  it('doubles the fast delay past discoverInterval while nothing new comes, and neither delay past maxDiscoverInterval', () => {
    const q = query({ fast: 100, interval: 1000, satisfied: false })
    const delays: number[] = []

    for (let i = 0; i < 20; i++) {
      delays.push(q.next({ added: 0, deficit: 1, age: 0 }))
    }

    expect(delays.slice(0, 8)).to.deep.equal([100, 200, 400, 800, 1600, 3200, 6400, 8000])
    expect(q.delays.fast).to.equal(8000)
    expect(q.delays.interval).to.equal(8000)
  })

  it('queries a met namespace once per satisfiedDiscoverInterval, the first time at a random point of it', () => {
    expect(query({ fast: 100, interval: 1000, satisfied: false }, () => 0).next({ added: 0, deficit: 0, age: 0 })).to.equal(15_000)
    const q = query({ fast: 100, interval: 1000, satisfied: false }, () => 0)
    q.next({ added: 0, deficit: 0, age: 0 })
    expect(q.next({ added: 1, deficit: 0, age: 0 })).to.equal(30_000)
    expect(query(q.delays, () => 0.99).next({ added: 0, deficit: -2, age: 0 })).to.equal(30_000)
  })

  it('leaves the delays it was given as they were', () => {
    const delays = { fast: 100, interval: 1000, satisfied: false }
    nextQueryDelay(delays, { added: 0, deficit: 1, age: 0 }, options, middle)
    expect(delays).to.deep.equal({ fast: 100, interval: 1000, satisfied: false })
  })

  it('confirms a filling namespace settled by the first query after the quiet time, never later than planned', () => {
    expect(settleCheckDelay(5000, 1000, 1000)).to.equal(SETTLE_QUIET + 1)
    expect(settleCheckDelay(5000, 1000, 1000 + SETTLE_QUIET + 50)).to.equal(1)
    expect(settleCheckDelay(20, 1000, 1000)).to.equal(20)
  })

  it('counts a page as full only with a cookie and as many registrations (dropped ones included) as asked', () => {
    const cookie = new Uint8Array([1])
    expect(isFullPage({ cookie, registrations: new Array(9), dropped: 1 }, 10)).to.be.true()
    expect(isFullPage({ cookie, registrations: new Array(9), dropped: 0 }, 10)).to.be.false()
    expect(isFullPage({ cookie: undefined, registrations: new Array(10), dropped: 0 }, 10)).to.be.false()
  })
})
