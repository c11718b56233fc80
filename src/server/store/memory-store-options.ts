/**
 * The memory store's options: their public type and their table (type and bounds, default, one line of docs), from
 * which `memoryRegistrationStore()` checks them and the command makes its `--memory-*` flags. Kept apart from the
 * store so that the table can name the type without an import circle.
 */
import { defaultsOf } from '../../options/option-table.ts'
import { integer } from '../../options/option-types.ts'
import type { OptionTable } from '../../options/option-table.ts'

export interface MemoryRegistrationStoreInit {
  /**
   * Bytes the registrations, their peers and their namespaces may take in all, as `registrationCost`,
   * `peerCost` and `namespaceCost` count them; a REGISTER past it is refused (the server answers
   * E_UNAVAILABLE).
   *
   * @default 1073741824 (1 GiB)
   */
  maxBytes?: number
  /**
   * Bytes one peer and its registrations may take, as `peerCost` and `registrationCost` count them;
   * a REGISTER past it is refused (the server answers E_NOT_AUTHORIZED).
   *
   * @default 2097152 (2 MiB, room for the spec's 1000 registrations per peer with records of 1.6 KiB)
   */
  maxBytesPerPeer?: number
  /**
   * Most expired registrations removed in one go, without yielding to the event loop.
   *
   * @default 1000 (about 2 ms of work)
   */
  sweepSlice?: number
}

/** Every memory store option with its default applied */
export type MemoryStoreConfig = Required<MemoryRegistrationStoreInit>

export const MEMORY_STORE_OPTIONS: OptionTable<MemoryRegistrationStoreInit, MemoryStoreConfig> = {
  owner: 'memoryRegistrationStore',
  rows: {
    maxBytes: {
      type: integer({ min: 1, unit: 'bytes' }),
      // see docs/server.md: about 1.1 KiB of heap per registration with its record
      default: 1024 * 1024 * 1024,
      note: '1 GiB',
      doc: 'bytes the registrations, their peers and namespaces may take in all; beyond it REGISTER gets `E_UNAVAILABLE`'
    },
    maxBytesPerPeer: {
      type: integer({ min: 1, unit: 'bytes' }),
      default: 2 * 1024 * 1024,
      note: '2 MiB, room for the spec\'s 1000 registrations per peer with records of 1.6 KiB',
      doc: 'bytes one peer and its registrations may take; beyond it: `E_NOT_AUTHORIZED`'
    },
    sweepSlice: {
      type: integer({ min: 1 }),
      default: 1000,
      note: 'about 2 ms of work',
      doc: 'most expired registrations removed without yielding to the event loop'
    }
  }
}

/** Every default of the memory store's options */
export const MEMORY_STORE_DEFAULTS = defaultsOf(MEMORY_STORE_OPTIONS) as Readonly<MemoryStoreConfig>
