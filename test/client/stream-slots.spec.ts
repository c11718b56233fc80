/**
 * The streams each point may have and who waits for one (src/client/stream-slots.ts) on their own: the count, the
 * queue (first come first served, a request woken before kept at its head, an aborted wait leaving the queue), and
 * requests that turn hung making room and waking the next waiting one. stream-reuse.spec.ts sees the same through
 * requests to points; these pin the queue's edges (an abort while waiting, a place given back twice) that those
 * requests do not reach.
 */
import { expect } from 'aegir/chai'
import { StreamSlots } from '../../src/client/stream-slots.ts'

/** Whether a promise has settled, read after the event loop had a turn */
function tracked (promise: Promise<void>): { state(): string, done: Promise<void> } {
  let state = 'waiting'
  const done = promise.then(() => { state = 'woken' }, (err: Error) => { state = err.name })
  return { state: () => state, done }
}

async function turn (ms = 0): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('client: the streams a point may have, and who waits for one', () => {
  it('counts the streams taken and given back, each given back once, and has room below maxStreamsPerPoint', () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 2 })
    const a = slots.take('p')
    const b = slots.take('p')

    expect(slots.count('p')).to.equal(2)
    expect(slots.hasRoom('p')).to.be.false()
    expect(slots.hasRoom('q')).to.be.true()

    slots.give('p', a)
    slots.give('p', a)
    expect(slots.count('p')).to.equal(1)
    expect(slots.hasRoom('p')).to.be.true()

    slots.give('p', b)
    expect(slots.count('p')).to.equal(0)
  })

  it('wakes the requests waiting in the order they came, one per wake, a request woken before at the head', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1 })
    const signal = AbortSignal.timeout(5000)
    const first = tracked(slots.wait('p', signal, false))
    const second = tracked(slots.wait('p', signal, false))

    slots.wake('p')
    await turn()
    expect([first.state(), second.state()]).to.deep.equal(['woken', 'waiting'])

    // woken before and found nothing: it goes in front of the one still waiting
    const again = tracked(slots.wait('p', signal, true))
    slots.wake('p')
    await turn()
    expect([again.state(), second.state()]).to.deep.equal(['woken', 'waiting'])

    slots.wake('p')
    await second.done
  })

  it('takes an aborted wait out of the queue, so that the next wake goes to a request still waiting', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1 })
    const controller = new AbortController()
    const gone = tracked(slots.wait('p', controller.signal, false))
    const next = tracked(slots.wait('p', AbortSignal.timeout(5000), false))

    controller.abort(new Error('the caller gave up'))
    await turn()
    expect(gone.state()).to.equal('Error')

    slots.wake('p')
    await turn()
    expect(next.state()).to.equal('woken')
  })

  it('refuses to wait on a signal already aborted', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1 })

    await expect(slots.wait('p', AbortSignal.abort(), false)).to.eventually.be.rejected.with.property('name', 'AbortError')
  })

  it('stops counting a request unanswered for hungAfter, up to twice maxStreamsPerPoint streams, and wakes a request waiting then', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1, hungAfter: 100 })
    slots.take('p')
    const busy = slots.started('p')
    expect(slots.hasRoom('p')).to.be.false()

    const started = performance.now()
    await slots.wait('p', AbortSignal.timeout(5000), false)
    expect(performance.now() - started, 'woken when the request turned hung').to.be.within(50, 2000)
    // a timer may fire a moment early (the woken request then waits again, for the rest): give it that moment
    await turn(20)
    expect(slots.hasRoom('p')).to.be.true()

    // the second stream, beside the hung one: no more however many hang
    slots.take('p')
    slots.started('p')
    await turn(150)
    expect(slots.hasRoom('p')).to.be.false()

    // an ended request counts again as not hung (it no longer counts at all)
    slots.ended('p', busy)
    slots.ended('p', undefined)
    expect(slots.hasRoom('p')).to.be.false()
  })

  it('still wakes a later request when a request in flight turns hung after an earlier waiter gave up', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1, hungAfter: 300 })
    slots.take('p')
    slots.started('p')

    const controller = new AbortController()
    const gone = tracked(slots.wait('p', controller.signal, false))
    controller.abort(new Error('the caller gave up'))
    await gone.done

    const started = performance.now()
    await slots.wait('p', AbortSignal.timeout(5000), false)
    expect(performance.now() - started).to.be.below(2000)
  })

  it('never takes a request for hung without hungAfter', async () => {
    const slots = new StreamSlots({ maxStreamsPerPoint: 1 })
    slots.take('p')
    slots.started('p')
    await turn(50)

    expect(slots.hasRoom('p')).to.be.false()
    await expect(slots.wait('p', AbortSignal.timeout(300), false)).to.eventually.be.rejected.with.property('name', 'TimeoutError')
  })
})
