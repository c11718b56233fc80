/**
 * The value types of the options that make a point part of a network of points: the peer points (multiaddrs that
 * name their peer id, since a point checks who answers) and the admission list (peer ids, or `'any'`). Each reads
 * from the text of a flag or a variable too, items separated by commas or whitespace (neither can hold either).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { list } from '../../options/option-types.ts'
import { pointAddress } from '../../options/point-address.ts'
import type { CheckContext, OptionType } from '../../options/option-types.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The peer points: a list of point addresses */
export function peerPointList (): OptionType<Multiaddr[]> {
  return list(pointAddress(), {
    requirement: 'an array of multiaddrs (or their strings) that end with /p2p/<peer id>',
    separator: 'commas-or-whitespace'
  })
}

const PEER_ID_REQUIREMENT = 'a peer id, e.g. 12D3KooW…'

/** A peer id as its string (a PeerId object is taken too), in its normal form */
function peerIdText (): OptionType<string> {
  return {
    requirement: PEER_ID_REQUIREMENT,
    placeholder: '<peer id>',
    check (value: unknown, context: CheckContext): string {
      if (typeof value !== 'string' && (typeof value !== 'object' || value === null || typeof (value as { toMultihash?: unknown }).toMultihash !== 'function')) {
        context.fail(PEER_ID_REQUIREMENT, value)
      }

      try {
        return peerIdFromString(String(value)).toString()
      } catch (err: any) {
        context.fail(`${PEER_ID_REQUIREMENT} (${String(err?.message ?? err)})`, value)
      }
    },
    fromText: text => text.trim()
  }
}

const ADMIT_REQUIREMENT = '\'any\', or an array of peer ids (strings)'

/**
 * Whom a point admits: `'any'`, or peer ids. From a flag or a variable `any` alone stands for `'any'` (a repeatable
 * flag always gives a list, so `['any']` is read as `'any'` too); `any` beside peer ids is refused, since one or
 * the other was meant.
 */
export function admitList (): OptionType<'any' | string[]> {
  const ids = list(peerIdText())

  return {
    requirement: ADMIT_REQUIREMENT,
    placeholder: '<peer id>|any',
    multiple: true,
    check (value: unknown, context: CheckContext): 'any' | string[] {
      if (value === 'any' || (Array.isArray(value) && value.length === 1 && value[0] === 'any')) {
        return 'any'
      }

      if (!Array.isArray(value)) {
        context.fail(ADMIT_REQUIREMENT, value)
      }

      if (value.includes('any')) {
        context.fail(`${ADMIT_REQUIREMENT}; 'any' stands alone`, value)
      }

      return [...new Set(ids.check(value, context))]
    },
    fromText: text => {
      const items = text.split(/[\s,]+/).map(item => item.trim()).filter(item => item !== '')
      return items.length === 1 && items[0] === 'any' ? 'any' : items
    }
  }
}
