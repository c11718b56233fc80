/**
 * The names of the namespaces the discovery module derives from node state. A topic's name is the one
 * go-libp2p-pubsub's discovery uses, so that Go nodes and ours meet under it; relays use the convention of Go and
 * Rust nodes (`RELAY_NAMESPACE` in constants.ts, shared with the server's command).
 */

/** The namespace a dapp id maps to */
export function dappNamespace (id: string): string {
  return `/dapp/${id}`
}

/** The namespace a pubsub topic maps to: go-libp2p-pubsub's discovery names, so Go nodes meet ours */
export function topicNamespace (topic: string): string {
  return `floodsub:${topic}`
}
