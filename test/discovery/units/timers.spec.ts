import { expect } from 'aegir/chai'
import { Timers } from '../../../src/discovery/timers.ts'
import { FakeClock } from './stubs/fake-clock.ts'

describe('discovery timers', () => {
  it('runs a timer once, replaces one set under the same key, and reports errors instead of throwing', async () => {
    const clock = new FakeClock()
    const errors: unknown[] = []
    const timers = new Timers(clock, (_key, err) => errors.push(err))
    timers.open()
    const runs: string[] = []

    timers.set('a', 1, () => { runs.push('first') })
    timers.set('a', 1, () => { runs.push('second') })
    timers.set('b', 1, async () => { throw new Error('boom') })
    timers.set('c', 1, () => { throw new Error('bang') })
    await clock.tick(30)

    expect(runs).to.deep.equal(['second'])
    expect(errors).to.have.lengthOf(2)
    expect(timers.size).to.equal(0)
    expect(clock.pending).to.equal(0)
    timers.clear()
  })

  it('cancels everything on clear and sets nothing more until opened again', async () => {
    const clock = new FakeClock()
    const timers = new Timers(clock, () => {})
    timers.open()
    let runs = 0

    timers.set('a', 5, () => { runs++ })
    timers.set('b', 5, () => { runs++ })
    timers.clear()
    timers.set('c', 1, () => { runs++ })
    await clock.tick(30)

    expect(runs).to.equal(0)
    expect(timers.size).to.equal(0)
    expect(clock.pending).to.equal(0)
  })

  it('moves a timer earlier but never later', () => {
    const clock = new FakeClock()
    const timers = new Timers(clock, () => {})
    timers.open()

    timers.set('a', 10_000, () => {})
    const due = timers.due('a') ?? 0
    timers.setEarlier('a', 20_000, () => {})
    expect(timers.due('a')).to.equal(due)

    timers.setEarlier('a', 100, () => {})
    expect(timers.due('a')).to.equal(clock.now() + 100)
    timers.clear()
  })

  it('never sets a timer longer than a platform timer can wait', () => {
    const clock = new FakeClock()
    const timers = new Timers(clock, () => {})
    timers.open()
    timers.set('a', 2 ** 40, () => {})
    expect((timers.due('a') ?? 0) - clock.now()).to.equal(2 ** 31 - 1)
    timers.clear()
  })
})
