/**
 * This package tuned for a fast start: `discoverInterval` 1 s (default 5 s), to compare with
 * pubsub-peer-discovery at 1 s, and `pollInterval` 100 ms (default 1 s), so that a topic subscribed just after
 * `start()` is registered and discovered within 100 ms instead of up to a second later.
 */
import { rendezvousMethod } from './rendezvous.ts'

export const method = rendezvousMethod('rendezvous-1s', 'rendezvous (1 s, 100 ms poll)', { discoverInterval: 1000, pollInterval: 100 })
