import { expect } from 'aegir/chai'
import delay from 'delay'
import { Timers } from '../../src/discovery/timers.ts'

describe('discovery timers', () => {
  it('runs a timer once, replaces one set under the same key, and reports errors instead of throwing', async () => {
    const errors: unknown[] = []
    const timers = new Timers((_key, err) => errors.push(err))
    timers.open()
    const runs: string[] = []

    timers.set('a', 1, () => { runs.push('first') })
    timers.set('a', 1, () => { runs.push('second') })
    timers.set('b', 1, async () => { throw new Error('boom') })
    await delay(30)

    expect(runs).to.deep.equal(['second'])
    expect(errors).to.have.lengthOf(1)
    expect(timers.size).to.equal(0)
    timers.clear()
  })

  it('cancels everything on clear and sets nothing more until opened again', async () => {
    const timers = new Timers(() => {})
    timers.open()
    let runs = 0

    timers.set('a', 5, () => { runs++ })
    timers.set('b', 5, () => { runs++ })
    timers.clear()
    timers.set('c', 1, () => { runs++ })
    await delay(30)

    expect(runs).to.equal(0)
    expect(timers.size).to.equal(0)
  })

  it('moves a timer earlier but never later', () => {
    const timers = new Timers(() => {})
    timers.open()

    timers.set('a', 10_000, () => {})
    const due = timers.due('a') ?? 0
    timers.setEarlier('a', 20_000, () => {})
    expect(timers.due('a')).to.equal(due)

    timers.setEarlier('a', 100, () => {})
    expect(timers.due('a')).to.be.lessThan(due)
    timers.clear()
  })
})
