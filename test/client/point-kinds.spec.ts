/**
 * How the client learns that a point answers one request per stream (src/client/point-kinds.ts), step by step:
 * a stream the point closed right after its first answer, or its second request left unanswered
 * `ONE_REQUEST_EVIDENCE` times in a row, and nothing else. stream-reuse.spec.ts sees the same through requests to
 * real and scripted points; these pin the evidence that must not count (a late close, a stream still writable, an
 * answer in between), which those points never give.
 */
import { logger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { ONE_REQUEST_EVIDENCE, PointKinds } from '../../src/client/point-kinds.ts'

const log = logger('test:point-kinds')

describe('client: what kind of point answers one request per stream', () => {
  it('learns it from a stream the point closed within moments of its first answer, and from nothing less', () => {
    const kinds = new PointKinds(16, log)
    const now = performance.now()

    // a close long after the answer (the point's idle timeout), a second answer, a stream the point still writes on
    kinds.closed('a', { served: 1, answeredAt: now - 60_000, remoteWritable: false })
    kinds.closed('a', { served: 2, answeredAt: now, remoteWritable: false })
    kinds.closed('a', { served: 1, answeredAt: now, remoteWritable: true })
    kinds.closed('a', { served: 0, remoteWritable: false })
    expect(kinds.answersOnePerStream('a')).to.be.false()

    kinds.closed('a', { served: 1, answeredAt: now, remoteWritable: false })
    expect(kinds.answersOnePerStream('a')).to.be.true()
    expect(kinds.answersOnePerStream('b')).to.be.false()
  })

  it(`learns it from ${ONE_REQUEST_EVIDENCE} unanswered second requests in a row; an answer in between starts the count again`, () => {
    const kinds = new PointKinds(16, log)

    for (let i = 1; i < ONE_REQUEST_EVIDENCE; i++) {
      kinds.unansweredSecond('a')
    }
    kinds.answeredAgain('a')

    for (let i = 1; i < ONE_REQUEST_EVIDENCE; i++) {
      kinds.unansweredSecond('a')
      expect(kinds.answersOnePerStream('a'), `after ${i} in a row`).to.be.false()
    }

    kinds.unansweredSecond('a')
    expect(kinds.answersOnePerStream('a')).to.be.true()
  })
})
