/**
 * The clock helpers every unit waits with: a timeout signal and a bounded wait, both on the injected clock and
 * both leaving no timer behind.
 */
import { expect } from 'aegir/chai'
import { MAX_TIMER_DELAY, clockTimeout, settleWithin } from '../../../src/discovery/clock.ts'
import { FakeClock } from './stubs/fake-clock.ts'

describe('discovery clock', () => {
  it('aborts a timeout signal once its time has passed on the clock, and leaves no timer once cleared', async () => {
    const clock = new FakeClock()
    const timeout = clockTimeout(clock, 500)
    await clock.tick(499)
    expect(timeout.signal.aborted).to.be.false()
    await clock.tick(1)
    expect(timeout.signal.aborted).to.be.true()
    expect(String(timeout.signal.reason)).to.include('500 ms')

    const cleared = clockTimeout(clock, 500)
    cleared.clear()
    expect(clock.pending).to.equal(0)
    await clock.tick(1000)
    expect(cleared.signal.aborted).to.be.false()
  })

  it('waits for a promise at most the time given, says whether it settled, never rejects, and leaves no timer', async () => {
    const clock = new FakeClock()

    expect(await settleWithin(clock, Promise.resolve(), 100)).to.be.true()
    expect(await settleWithin(clock, Promise.reject(new Error('failed')), 100)).to.be.true('a rejection is settled too')
    expect(clock.pending).to.equal(0)

    const never = settleWithin(clock, new Promise(() => {}), 100)
    await clock.tick(100)
    expect(await never).to.be.false()
    expect(clock.pending).to.equal(0)
  })

  it('bounds delays by what a platform timer can wait', () => {
    expect(MAX_TIMER_DELAY).to.equal(2 ** 31 - 1)
  })
})
