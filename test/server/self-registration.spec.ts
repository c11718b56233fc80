import { generateKeyPair } from '@libp2p/crypto/keys'
import { TypedEventEmitter } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import pWaitFor from 'p-wait-for'
import sinon from 'sinon'
import { stubInterface } from 'sinon-ts'
import { RELAY_NAMESPACE } from '../../src/constants.ts'
import { resolveServerConfig } from '../../src/server/config.ts'
import { MemoryRegistrationStore } from '../../src/server/index.ts'
import { SelfRegistration } from '../../src/server/self-registration.ts'
import type { RegisterInput, RegisterLimits, RegisterOutcome } from '../../src/server/store/registration-store.ts'
import type { Libp2pEvents, PeerId, PrivateKey } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The memory store, failing the next `failNext` registers as a database that went away would */
class FlakyStore extends MemoryRegistrationStore {
  failNext = 0
  registers = 0
  failures = 0
  /** `Date.now()` at each register call */
  readonly calledAt: number[] = []

  async register (input: RegisterInput, limits: RegisterLimits, now: number): Promise<RegisterOutcome> {
    this.registers++
    this.calledAt.push(Date.now())

    if (this.failNext > 0) {
      this.failNext--
      this.failures++
      throw new Error('connection to the database lost')
    }

    return super.register(input, limits, now)
  }
}

/**
 * What SelfRegistration uses of a node: its peer id and key, its addresses (a stubbed AddressManager that answers
 * with `addresses`) and a real event target for the event that they changed
 */
class StubNode {
  readonly peerId: PeerId
  readonly privateKey: PrivateKey
  readonly events = new TypedEventEmitter<Libp2pEvents>()
  addresses: Multiaddr[] = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
  readonly addressManager = stubInterface<AddressManager>({ getAddresses: sinon.stub<[], Multiaddr[]>().callsFake(() => this.addresses) })

  constructor (privateKey: PrivateKey) {
    this.privateKey = privateKey
    this.peerId = peerIdFromPrivateKey(privateKey)
  }
}

/**
 * Lets the promise chains of the code under test run (a record signed, the store called, a retry scheduled) until
 * `condition` holds. Polls through setImmediate, which the fake clock below leaves real: hand-written, since
 * p-wait-for sleeps on setTimeout and times out on AbortSignal.timeout, which the fake clock stops or leaves real.
 */
async function settle (what: string, condition: () => boolean, rounds = 10_000): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i === rounds) {
      throw new Error(`${what} did not happen`)
    }
    await new Promise(resolve => setImmediate(resolve))
  }
}

describe('a point\'s own listing (self-registration)', () => {
  let clock: sinon.SinonFakeTimers | undefined

  afterEach(() => {
    clock?.restore()
    clock = undefined
  })

  it('retries a failed refresh after 10, 20, 40 and 40 ms (doubling from retry.initial up to retry.max) until it succeeds, then refreshes at half the TTL again', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const node = new StubNode(privateKey)
    const store = new FlakyStore()
    const config = resolveServerConfig({})
    // timers and the clock the registration reads, not setImmediate: each delay is measured exactly, not as a
    // loaded machine's timers happen to fire
    // sinon's fake timers, not test/discovery's FakeClock: SelfRegistration has no injected clock, it reads the globals
    const fakeClock = sinon.useFakeTimers({ now: Date.now(), toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    clock = fakeClock
    const registration = new SelfRegistration(node, {
      store,
      // refreshed at half the TTL (1 h by default); the address change below triggers a refresh instead
      config,
      namespace: RELAY_NAMESPACE,
      log: logger('test:self-registration'),
      retry: { initial: 10, max: 40 }
    })

    await registration.start()
    expect(store.registers).to.equal(1)
    const first = (await store.discover({ namespace: RELAY_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations

    // before, one failed refresh ended the self-registration for good: nothing re-armed the timer
    store.failNext = 4
    fakeClock.tick(2)
    node.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await settle('the refresh after the address change', () => store.registers === 2)

    // each retry is the next timer: fire them one by one, the clock moving to each
    while (store.registers < 6) {
      const registers = store.registers
      await settle('a retry scheduled after a failure', () => fakeClock.countTimers() === 1)
      await fakeClock.nextAsync()
      await settle('the retry', () => store.registers === registers + 1)
    }

    // calledAt: the start, the refresh that failed first, then the four retries
    const retryDelays = store.calledAt.slice(2).map((at, i) => at - store.calledAt[i + 1])
    expect(retryDelays, 'the delays between the failed attempts and the retries after them').to.deep.equal([10, 20, 40, 40])
    expect(store.failures).to.equal(4)
    await settle('the retry to succeed', () => fakeClock.countTimers() === 1)
    const after = (await store.discover({ namespace: RELAY_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations
    expect(after).to.have.lengthOf(1)
    expect(after[0].recordSeq > first[0].recordSeq).to.be.true()

    // no retry left behind once it succeeded: the one timer is the refresh, at half the TTL
    const succeededAt = store.calledAt[store.calledAt.length - 1]
    await fakeClock.nextAsync()
    await settle('the refresh at half the TTL', () => store.registers === 7)
    expect(store.calledAt[6] - succeededAt, 'the refresh after the successful retry').to.equal(config.defaultTtl * 500)

    await registration.stop()
    expect(fakeClock.countTimers(), 'timers left after stop()').to.equal(0)
    expect((await store.discover({ namespace: RELAY_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations).to.be.empty()
  })
})

describe('a point\'s own listing before it has an address', () => {
  const list = async (store: MemoryRegistrationStore): Promise<number> => (await store.discover({ namespace: RELAY_NAMESPACE, afterSeq: 0n, limit: 10, now: Date.now() })).registrations.length

  it('waits for the first address, lists itself then, and start() reports it', async () => {
    const node = new StubNode(await generateKeyPair('Ed25519'))
    node.addresses = []
    const store = new MemoryRegistrationStore()
    const registration = new SelfRegistration(node, { store, config: resolveServerConfig({}), namespace: RELAY_NAMESPACE, log: logger('test:self-registration') })

    let started = false
    const starting = registration.start({ signal: AbortSignal.timeout(5000) }).then(() => { started = true })
    await new Promise(resolve => setTimeout(resolve, 50))
    // a record without an address would help nobody
    expect(started).to.be.false()
    expect(await list(store)).to.equal(0)

    node.addresses = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
    node.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await starting
    expect(await list(store)).to.equal(1)
    await registration.stop()
    expect(await list(store)).to.equal(0)
  })

  it('stops waiting at its signal, and lists itself on the first address update after', async () => {
    const node = new StubNode(await generateKeyPair('Ed25519'))
    node.addresses = []
    const store = new MemoryRegistrationStore()
    const registration = new SelfRegistration(node, { store, config: resolveServerConfig({}), namespace: RELAY_NAMESPACE, log: logger('test:self-registration') })

    await registration.start({ signal: AbortSignal.timeout(20) })
    expect(await list(store)).to.equal(0)

    node.addresses = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
    node.events.safeDispatchEvent('self:peer:update', { detail: {} as any })
    await pWaitFor(async () => await list(store) === 1, { interval: 5, timeout: { milliseconds: 10_000, message: 'the listing after the first address did not happen within 10000 ms' } })
    await registration.stop()
  })
})
