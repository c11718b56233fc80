import { expect } from 'aegir/chai'
import { backoffDelay, jitter } from '../../../src/discovery/backoff.ts'
import { PeerBackoff } from '../../../src/discovery/peers/peer-backoff.ts'
import { peerIds } from './stubs/peers.ts'
import type { PeerId } from '@libp2p/interface'

describe('discovery backoff', () => {
  const options = { initial: 1000, max: 60_000 }
  let peer: PeerId
  let other: PeerId

  before(async () => {
    [peer, other] = await peerIds(2)
  })

  it('waits nothing before the first failure', () => {
    expect(backoffDelay(0, options)).to.equal(0)
  })

  it('waits at least the initial delay and at most the doubled ceiling', () => {
    for (let failures = 1; failures < 12; failures++) {
      const ceiling = Math.min(options.max, options.initial * 2 ** (failures - 1))
      expect(backoffDelay(failures, options, () => 0)).to.equal(options.initial)
      expect(backoffDelay(failures, options, () => 1)).to.equal(ceiling)
    }
  })

  it('with equal jitter waits at least half the doubled ceiling (and the initial delay), so that the retries of a dead point grow apart', () => {
    for (let failures = 1; failures < 12; failures++) {
      const ceiling = Math.min(options.max, options.initial * 2 ** (failures - 1))
      expect(backoffDelay(failures, options, () => 0, 'equal')).to.equal(Math.max(options.initial, ceiling / 2))
      expect(backoffDelay(failures, options, () => 1, 'equal')).to.equal(ceiling)
    }
  })

  it('never exceeds the maximum, even after very many failures', () => {
    expect(backoffDelay(10_000, options, () => 1)).to.equal(options.max)
    expect(Number.isFinite(backoffDelay(10_000, options, () => 0.5))).to.be.true()
  })

  it('spreads delays with jitter within the fraction asked', () => {
    expect(jitter(1000, 0.1, () => 0)).to.equal(900)
    expect(jitter(1000, 0.1, () => 1)).to.equal(1100)
    expect(jitter(1000, 0.1, () => 0.5)).to.equal(1000)
  })

  it('backs a peer off after a failure and forgets it after a success', () => {
    const backoff = new PeerBackoff(options, () => 0)
    const now = 1_000_000
    const until = backoff.fail(peer, now)

    expect(until).to.equal(now + options.initial)
    expect(backoff.isBackedOff(peer, now + 10)).to.be.true()
    expect(backoff.isBackedOff(peer, until + 1)).to.be.false()
    expect(backoff.isBackedOff(other, now)).to.be.false()

    backoff.succeed(peer)
    expect(backoff.isBackedOff(peer, now + 10)).to.be.false()
    expect(backoff.failures(peer)).to.equal(0)
  })

  it('grows the delay with consecutive failures', () => {
    const backoff = new PeerBackoff(options, () => 1)
    const now = 1_000_000
    const first = backoff.fail(peer, now) - now
    const second = backoff.fail(peer, now) - now
    const third = backoff.fail(peer, now) - now

    expect(backoff.failures(peer)).to.equal(3)
    expect(second).to.be.greaterThan(first)
    expect(third).to.be.greaterThan(second)
  })
})
