/**
 * What a light node does in place of the discovery module: only what the points and the other nodes see of a
 * node whose quotas are met, at a cost that lets 100,000 of them share one process.
 *
 * - At each point (or, with `pointsPerNamespace`, at each namespace's first points by the module's weight), it
 * registers under each of its namespaces (its topics, and the relay namespace if it runs a relay) once online, through the same client model as a real node (a connection, then the request's round
 * trips, handled by the point's real handlers on its real store), and refreshes each registration as the module
 * does (at the TTL granted minus the refresh margin, less up to 10% of the TTL at random); a refused REGISTER is
 * tried again a minute later.
 * - When it leaves cleanly it sends UNREGISTER for each; when it vanishes its registrations run out.
 * - It sends no DISCOVER and dials nobody: it accepts connections (up to its `maxConnections`), pubsub learns its
 * topics, a relay among them holds reservations, and a browser among them is reached through a relay the network
 * assigns it. The requests the simulation reports per point and per node are the real nodes', scaled (see
 * simulation.ts), so what the light nodes leave out does not go missing from the figures.
 *
 * What this costs the real nodes' times to quota: a ring link whose other end is a light node is never dialed from
 * that end, so the real node waits out the module's inbound grace (2 s) before dialing it itself.
 */
import { RELAY_NAMESPACE } from '../../../src/constants.ts'
import { topicNamespace } from '../../../src/discovery/namespace-names.ts'
import { rankPoints } from '../../../src/discovery/points/hrw.ts'
import type { SimClient } from './client.ts'
import type { SimNode } from './node.ts'
import type { SimPoint } from './point.ts'
import type { VirtualClock } from '../engine/virtual-clock.ts'

/** Delay before a refused or failed REGISTER is sent again, ms */
const RETRY_MS = 60_000

export interface LightScheduleInit {
  node: SimNode
  client: SimClient
  points: SimPoint[]
  clock: VirtualClock
  random(): number
  /** The TTL asked for, seconds (the point's default when absent) */
  ttl?: number
  /** The module's refresh margin, ms */
  refreshMargin: number
  /**
   * Register each namespace at its first this many points by the module's highest-random-weight hashing (what a
   * real node does with `configuredFallback: false`); absent: at every point, as a node given every point does
   */
  pointsPerNamespace?: number
}

export class LightSchedule {
  private readonly init: LightScheduleInit
  private readonly namespaces: string[]
  /** Timers of the registrations' refreshes, by `point index/namespace` */
  private readonly timers = new Map<string, unknown>()
  /** Registrations the points hold (their last REGISTER succeeded), by the same key */
  private readonly held = new Set<string>()
  private stopped = false

  constructor (init: LightScheduleInit) {
    this.init = init
    const node = init.node
    this.namespaces = node.topics.map(topicNamespace)

    if (node.runsRelay) {
      this.namespaces.push(RELAY_NAMESPACE)
    }
  }

  /** Registrations the points hold now */
  get registered (): number {
    return this.held.size
  }

  start (): void {
    for (const ns of this.namespaces) {
      for (const { point, index } of this.placed(ns)) {
        void this.register(point, `${index}/${ns}`, ns)
      }
    }
  }

  /** The points `ns` is registered at, with their index among all points */
  private placed (ns: string): Array<{ point: SimPoint, index: number }> {
    const all = this.init.points.map((point, index) => ({ point, index, id: point.identity.id }))
    const k = this.init.pointsPerNamespace
    return k == null ? all : rankPoints(ns, all).slice(0, k)
  }

  /** A clean leave: UNREGISTER every registration held, then stop */
  async unregisterAll (): Promise<void> {
    const sends: Array<Promise<void>> = []

    for (const ns of this.namespaces) {
      for (const { point, index } of this.placed(ns)) {
        if (this.held.has(`${index}/${ns}`)) {
          sends.push(this.init.client.unregister(point.multiaddr, ns).catch(() => {}))
        }
      }
    }

    this.stop()
    await Promise.all(sends)
  }

  stop (): void {
    this.stopped = true

    for (const timer of this.timers.values()) {
      this.init.clock.clearTimeout(timer)
    }

    this.timers.clear()
  }

  private async register (point: SimPoint, key: string, ns: string): Promise<void> {
    if (this.stopped) {
      return
    }

    let delay = RETRY_MS

    try {
      // a browser without a relay yet registers the address it will have: only the record's size matters here
      const ttl = await this.init.client.register(point.multiaddr, ns, this.init.ttl == null ? {} : { ttl: this.init.ttl })
      this.held.add(key)
      const ms = ttl * 1000
      delay = Math.max(0, ms - Math.min(this.init.refreshMargin, ms / 4) - this.init.random() * ms / 10)
    } catch {
      // the node left while the request was on its way, or the point refused it
    }

    if (!this.stopped) {
      this.timers.set(key, this.init.clock.setTimeout(() => { void this.register(point, key, ns) }, delay))
    }
  }
}
