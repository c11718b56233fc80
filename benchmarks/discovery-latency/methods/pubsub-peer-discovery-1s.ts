/**
 * `@libp2p/pubsub-peer-discovery` with a 1 s interval: ten times the announcements of the default, to show
 * what a faster interval buys and costs.
 */
import { pubsubPeerDiscoveryMethod } from './pubsub-peer-discovery.ts'

export const method = pubsubPeerDiscoveryMethod('pubsub-peer-discovery-1s', 'pubsub-peer-discovery (1 s)', 1000)
