/**
 * The points listed in this point's own store under `/libp2p/rendezvous` (a fleet's other servers write there
 * too): read every `pointDiscoverInterval`, from the position read up to last, each record opened through the
 * server's cache of checked records and handed to the point set to learn.
 */
import { MAX_DISCOVER_LIMIT, POINTS_NAMESPACE } from '../../constants.ts'
import type { VerifiedPeerRecord } from '../../protocol/peer-record.ts'
import type { RegistrationStore } from '../store/registration-store.ts'
import type { Logger } from '@libp2p/interface'

/** Registrations read from this point's own store per look */
const OWN_LIST_PAGE = MAX_DISCOVER_LIMIT

export interface OwnListReaderInit {
  /** This point's own peer id, as a string: its own listing is skipped */
  self: string
  store: RegistrationStore
  interval: number
  /** Opens a record from this point's own store (the server's cache of checked records) */
  openRecord(envelope: Uint8Array): Promise<VerifiedPeerRecord>
  /** A point listed here, until `listedUntil` (ms since epoch) */
  learn(record: VerifiedPeerRecord, listedUntil: number): void
  log: Logger
}

export class OwnListReader {
  private readonly init: OwnListReaderInit
  private readonly log: Logger
  private running = false
  /** The position read up to in this point's own store */
  private ownListAfter = 0n
  private ownListTimer?: ReturnType<typeof setTimeout>
  private ownListing?: Promise<void>

  constructor (init: OwnListReaderInit) {
    this.init = init
    this.log = init.log
  }

  /** Reads at once, then every `interval` */
  start (): void {
    this.running = true
    this.scheduleOwnList(0)
  }

  /** Sets no more reads; resolves once a read in progress ended */
  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.ownListTimer)
    await this.ownListing
  }

  private scheduleOwnList (delay: number): void {
    this.ownListTimer = setTimeout(() => {
      this.ownListing = this.readOwnList().catch(err => {
        this.log.error('could not read the points listed here - %e', err)
      }).finally(() => {
        this.ownListing = undefined

        if (this.running) {
          this.scheduleOwnList(this.init.interval)
        }
      })
    }, delay)
    this.ownListTimer.unref?.()
  }

  private async readOwnList (): Promise<void> {
    while (this.running) {
      const now = Date.now()
      const page = await this.init.store.discover({ namespace: POINTS_NAMESPACE, afterSeq: this.ownListAfter, limit: OWN_LIST_PAGE, now })

      for (const registration of page.registrations) {
        if (registration.peerId === this.init.self) {
          continue
        }

        try {
          this.init.learn(await this.init.openRecord(registration.signedPeerRecord), registration.expiresAt)
        } catch (err) {
          this.log('a record listed here under %s does not open - %e', POINTS_NAMESPACE, err)
        }
      }

      // a shared database's page may hold positions not settled yet: read from the last settled one next time
      const settled = page.registrations.filter(registration => page.settledBelow == null || registration.seq < page.settledBelow)
      const last = settled[settled.length - 1]
      this.ownListAfter = last?.seq ?? this.ownListAfter

      if (page.registrations.length < OWN_LIST_PAGE || settled.length < page.registrations.length) {
        return
      }
    }
  }
}
