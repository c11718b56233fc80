/**
 * The example page: a browser libp2p node configured with nothing but the rendezvous point and a dapp id.
 * The discovery plugin finds a relay, makes a reservation, registers the node's circuit address and dials the
 * other peers of the dapp; the page shows it happening (peer list, quotas, relay state) and carries a small chat.
 *
 * Bundled by serve.ts with esbuild; it imports the package from ../../src, unchanged.
 */

import { Circuit } from '@multiformats/multiaddr-matcher'
import { rendezvousDiscovery } from '../../src/discovery/index.ts'
import { createBrowserNode } from './browser-node.ts'
import type { RendezvousDiscoveryStatus } from '../../src/discovery/index.ts'

/** What serve.ts tells the page at /config.json */
interface ExampleConfig {
  points: string[]
  dapp: string
  topic: string
}

type Row = Record<string, unknown>

const config: ExampleConfig = await (await fetch('/config.json')).json()

const node = await createBrowserNode({
  services: { rendezvous: rendezvousDiscovery({ points: config.points, dapp: config.dapp }) }
})

const chat: string[] = []
node.services.pubsub.addEventListener('message', (event) => {
  if (event.detail.topic === config.topic) {
    const from = event.detail.type === 'signed' ? short(event.detail.from.toString()) : '?'
    chat.push(`${new Date().toLocaleTimeString()} ${from}: ${new TextDecoder().decode(event.detail.data)}`)
  }
})

await node.start()
node.services.pubsub.subscribe(config.topic)

byId('chat-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = byId('chat-input') as HTMLInputElement
  const text = input.value.trim()
  if (text === '') {
    return
  }
  input.value = ''
  chat.push(`${new Date().toLocaleTimeString()} me: ${text}`)
  node.services.pubsub.publish(config.topic, new TextEncoder().encode(text)).catch((err: Error) => {
    chat.push(`(not sent: ${err.message})`)
  })
})

byId('stop-relay').addEventListener('click', () => {
  const relay = relayIds()[0]
  if (relay == null) {
    return
  }
  fetch(`/control/stop-relay?peer=${encodeURIComponent(relay)}`, { method: 'POST' }).catch(() => {})
})

render()
setInterval(render, 500)

function render (): void {
  const status = rendezvousStatus()
  const circuits = circuitAddresses()
  byId('status').replaceChildren(text(
    circuits.length > 0 ? `reachable through ${relayIds().length} relay(s)` : 'looking for a relay…',
    circuits.length > 0 ? 'ok' : 'bad'))
  byId('self').replaceChildren(table([
    { field: 'peer id', value: node.peerId.toString() },
    { field: 'dapp', value: config.dapp },
    { field: 'topic', value: config.topic },
    { field: 'topic peers', value: node.services.pubsub.getSubscribers(config.topic).map(p => short(p.toString())).join(', ') }
  ]))
  byId('relays').replaceChildren(table(circuits.map(addr => ({ relay: short(relayOf(addr)), 'circuit address': addr }))))
  byId('quotas').replaceChildren(table(rows(status.dialer.quotas)))
  byId('registrations').replaceChildren(table(rows(status.scheduler.registrations)))
  byId('points').replaceChildren(table(rows(status.scheduler.points)))
  byId('connections').replaceChildren(table(node.getConnections().map(conn => ({
    peer: short(conn.remotePeer.toString()),
    address: conn.remoteAddr.toString(),
    kind: conn.limits != null ? 'relayed (limited)' : 'direct',
    direction: conn.direction
  }))))
  const log = byId('chat-log')
  log.replaceChildren(...chat.slice(-100).map(line => { const div = document.createElement('div'); div.textContent = line; return div }))
  log.scrollTop = log.scrollHeight
}

/** The plugin's read-only view: namespaces, quotas (dialer), points and registrations (scheduler) */
function rendezvousStatus (): RendezvousDiscoveryStatus {
  return node.services.rendezvous.status
}

/** The node's `/p2p-circuit` addresses: one per relay reservation */
function circuitAddresses (): string[] {
  return node.getMultiaddrs().filter(ma => Circuit.matches(ma)).map(ma => ma.toString())
}

function relayIds (): string[] {
  return [...new Set(circuitAddresses().map(relayOf))]
}

function relayOf (circuit: string): string {
  return circuit.split('/p2p-circuit')[0].split('/p2p/').pop() ?? ''
}

function rows (value: object[]): Row[] {
  return value as Row[]
}

function short (id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id
}

function byId (id: string): HTMLElement {
  const element = document.getElementById(id)
  if (element == null) {
    throw new Error(`no #${id} in the page`)
  }
  return element
}

function text (value: string, className?: string): HTMLElement {
  const span = document.createElement('span')
  span.textContent = value
  if (className != null) {
    span.className = className
  }
  return span
}

/** A table of plain values; every cell is set with textContent */
function table (data: Row[]): HTMLElement {
  if (data.length === 0) {
    return text('none', 'muted')
  }
  const columns = [...new Set(data.flatMap(row => Object.keys(row)))]
  const element = document.createElement('table')
  const head = element.createTHead().insertRow()
  for (const column of columns) {
    const th = document.createElement('th')
    th.textContent = column
    head.appendChild(th)
  }
  const body = element.createTBody()
  for (const row of data) {
    const tr = body.insertRow()
    for (const column of columns) {
      tr.insertCell().textContent = cell(row[column])
    }
  }
  return element
}

function cell (value: unknown): string {
  if (value == null) {
    return ''
  }
  if (typeof value === 'number' && value > 1e12) {
    // ms since epoch
    return new Date(value).toLocaleTimeString()
  }
  return typeof value === 'object' ? JSON.stringify(value, (_, v) => typeof v === 'bigint' ? v.toString() : v) : String(value)
}
