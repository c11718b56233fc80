/**
 * The database's clock, as one server sees it: the PostgreSQL store keeps and compares expiry times on it, so
 * servers of a fleet agree on when a registration expires even when their own clocks do not. Without it, a
 * server whose clock runs an hour ahead would sweep everyone's registrations an hour early.
 *
 * The server works with its own clock (`now`, `expiresAt`); the store moves those times onto the database's by
 * the offset between the two, measured at start and again every `checkInterval`. A new measurement replaces the
 * offset only when it moved by more than `tolerance`, so that the jitter of a round trip never shifts stored
 * times back and forth: a registration read back has the expiry it was given.
 */
import type { Logger } from '@libp2p/interface'
import type { Sql } from 'postgres'

export interface DatabaseClockInit {
  /** The clock the server's times come from */
  localClock(): number
  /** How often the offset is measured again, in ms */
  checkInterval: number
  /** Smallest change of the offset that is adopted, in ms */
  tolerance: number
  log: Logger
}

/** Round trips per measurement: the one that took least time gives the offset */
const SAMPLES = 3

export class DatabaseClock {
  private readonly init: DatabaseClockInit
  /** Database time minus local time, in ms */
  private offset = 0
  private timer?: ReturnType<typeof setInterval>

  constructor (init: DatabaseClockInit) {
    this.init = init
  }

  /** Measures the offset, then keeps it up to date until {@link stop} */
  async start (sql: Sql): Promise<void> {
    this.offset = await this.measure(sql)
    this.init.log('database clock is %d ms ahead of ours', this.offset)

    this.timer = setInterval(() => {
      this.measure(sql).then(offset => {
        if (Math.abs(offset - this.offset) > this.init.tolerance) {
          this.init.log('database clock offset moved from %d to %d ms', this.offset, offset)
          this.offset = offset
        }
      }, err => {
        this.init.log('could not read the database clock, keeping an offset of %d ms - %e', this.offset, err)
      })
    }, this.init.checkInterval)
    // a measurement is never a reason to keep the process alive
    this.timer.unref?.()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** A time on the server's clock, moved onto the database's */
  toDatabase (local: number): number {
    return local + this.offset
  }

  /** A time on the database's clock, moved onto the server's */
  toLocal (database: number): number {
    return database - this.offset
  }

  private async measure (sql: Sql): Promise<number> {
    let best: { roundTrip: number, offset: number } | undefined

    for (let i = 0; i < SAMPLES; i++) {
      const sent = this.init.localClock()
      const [row] = await sql<Array<{ ms: number }>>`SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`
      const received = this.init.localClock()
      const roundTrip = received - sent
      // the database read its clock somewhere within the round trip: its middle is the best guess
      const offset = Math.round(row.ms - (sent + received) / 2)

      if (best == null || roundTrip < best.roundTrip) {
        best = { roundTrip, offset }
      }
    }

    return best?.offset ?? 0
  }
}
