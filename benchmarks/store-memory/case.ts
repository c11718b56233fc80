/**
 * One measurement of the memory store, run in a child process of its own (with --expose-gc) so that its memory
 * figures are its own. Prints one JSON line.
 *
 * - `--case fill`: registers until the store refuses (its byte budget or its count limit) and reports what it
 * holds in memory, after full garbage collections, against what the store counted
 * - `--case sweep`: registers `count` registrations that all expire at once, then measures the first DISCOVER
 * after the expiry and the longest the event loop was blocked while the rest was removed. A slice as large as the
 * count is how the store worked before it swept in slices: everything at once
 */
import { MemoryRegistrationStore } from '../../src/server/store/memory-registration-store.ts'
import { parseArgs } from '../lib/child.ts'
import { summarize } from '../lib/stats.ts'
import type { RegisterLimits } from '../../src/server/store/registration-store.ts'

const args = parseArgs(process.argv.slice(2))
const gc = (globalThis as any).gc as (() => void) | undefined

if (gc == null) {
  throw new Error('run with --expose-gc')
}

/** Base58btc peer ids of Ed25519 keys are 52 characters */
function peerId (i: number): string {
  return `12D3KooW${String(i).padStart(44, '0')}`
}

function settle (): void {
  for (let i = 0; i < 4; i++) {
    gc?.()
  }
}

interface MemorySample {
  heapUsed: number
  external: number
  arrayBuffers: number
  rss: number
}

function sample (): MemorySample {
  settle()
  const usage = process.memoryUsage()
  return { heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers, rss: usage.rss }
}

/**
 * Who registers where, registration `i`. `distinct`: a peer and a namespace of its own (what throwaway
 * identities cost); `shared`: 1000 registrations per peer over 1000 namespaces every peer uses (the spec's
 * per-peer maximum on a busy point); `peers`: a peer of its own in one of 1000 namespaces; `namespaces`: a
 * namespace of its own for one of 1000 peers. Together they tell apart what a registration, a peer and a
 * namespace cost.
 */
const SHAPES = {
  distinct: (i: number) => [peerId(i), `/app/${i}`],
  shared: (i: number) => [peerId(Math.floor(i / 1000)), `/app/${i % 1000}`],
  peers: (i: number) => [peerId(i), `/app/${i % 1000}`],
  namespaces: (i: number) => [peerId(i % 1000), `/app/${i}`]
} satisfies Record<string, (i: number) => [string, string]>

export type Shape = keyof typeof SHAPES

async function fill (shape: Shape, recordSize: number, maxBytes: number, maxRegistrationsTotal: number): Promise<unknown> {
  const store = new MemoryRegistrationStore({ maxBytes, maxBytesPerPeer: maxBytes })
  const limits: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal, maxRecordSize: recordSize }
  // each record a buffer of its own, as records decoded from the network are
  const record = (i: number): Uint8Array => new Uint8Array(recordSize).fill(i & 0xff)
  const before = sample()
  const started = performance.now()
  let held = 0
  let refusal = ''

  for (let i = 0; ; i++) {
    const [peer, namespace] = SHAPES[shape](i)
    const outcome = await store.register({ peerId: peer, namespace, signedPeerRecord: record(i), recordSeq: 1n, expiresAt: Date.now() + 3_600_000 }, limits, Date.now())

    if (!outcome.ok) {
      refusal = outcome.reason
      break
    }
    held++
  }

  const fillMs = performance.now() - started
  const after = sample()
  const heap = after.heapUsed - before.heapUsed
  const external = after.external - before.external
  const rss = after.rss - before.rss

  return {
    shape,
    recordSize,
    maxBytes,
    held,
    refusal,
    counted: store.bytesUsed,
    heapBytes: heap,
    externalBytes: external,
    rssBytes: rss,
    realPerRegistration: (heap + external) / held,
    countedPerRegistration: store.bytesUsed / held,
    fillPerSecond: held / (fillMs / 1000)
  }
}

async function sweep (count: number, sweepSlice: number): Promise<unknown> {
  const store = new MemoryRegistrationStore({ sweepSlice })
  const limits: RegisterLimits = { maxRegistrationsPerPeer: 1000, maxRegistrationsTotal: count + 1 }
  const record = new Uint8Array(150).fill(1)
  const now = Date.now()
  const expiresAt = now + 1000

  for (let i = 0; i < count; i++) {
    await store.register({ peerId: peerId(i), namespace: `/app/${i % 100}`, signedPeerRecord: record, recordSeq: 1n, expiresAt }, limits, now)
  }
  await store.register({ peerId: peerId(count), namespace: '/app/0', signedPeerRecord: record, recordSeq: 1n, expiresAt: now + 3_600_000 }, limits, now)
  // no forced garbage collection here: the pages V8 releases after a full one make the next few milliseconds of any
  // work slow, which would be measured as the sweep's

  // every gap between two turns of the event loop while the expired registrations are removed
  const later = expiresAt + 1
  const gaps: number[] = []
  let last = performance.now()
  let ticking = true
  const tick = (): void => {
    const t = performance.now()
    gaps.push(t - last)
    last = t
    if (ticking) {
      setImmediate(tick)
    }
  }

  const discoverStarted = performance.now()
  const page = await store.discover({ namespace: '/app/0', afterSeq: 0n, limit: 100, now: later })
  const firstDiscoverMs = performance.now() - discoverStarted

  last = performance.now()
  setImmediate(tick)
  const drainStarted = performance.now()
  // the background removal the DISCOVER started, then what removeExpired finds left (nothing, once it is done)
  while ((await store.stats(later)).registrations > 1) {
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  const drainMs = performance.now() - drainStarted
  ticking = false

  // the DISCOVER itself blocked the loop too
  gaps.push(firstDiscoverMs)
  const loop = summarize(gaps)

  return {
    count,
    sweepSlice,
    firstDiscoverMs,
    firstPage: page.registrations.length,
    drainMs,
    // never null: the DISCOVER's own gap is among them
    maxLoopBlockMs: loop.max ?? 0,
    p99LoopBlockMs: loop.p99 ?? 0,
    turns: gaps.length,
    perRemovalUs: (firstDiscoverMs + drainMs) * 1000 / count
  }
}

const kind = args.get('case')
let result: unknown

if (kind === 'fill') {
  result = await fill((args.get('shape') ?? 'distinct') as Shape, Number(args.get('record-size')), Number(args.get('max-bytes')), Number(args.get('max-total') ?? 1_000_000))
} else if (kind === 'sweep') {
  result = await sweep(Number(args.get('count')), Number(args.get('slice')))
} else {
  throw new Error(`unknown case ${kind}`)
}

process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
