/**
 * The value type of an option that names a rendezvous point: a multiaddr, or its string, whose last component names
 * the point's peer id (the client checks that whoever answers is that peer, so a point without one cannot be used).
 * Shared by the discovery module's `points` and the server's `peerPoints`.
 */
import { isMultiaddr, multiaddr } from '@multiformats/multiaddr'
import { peerIdOfMultiaddr } from '../client/point.ts'
import type { CheckContext, OptionType } from './option-types.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export const POINT_REQUIREMENT = 'a multiaddr (or its string) that ends with /p2p/<peer id>'

/** A rendezvous point's address; from the text of a flag or a variable too */
export function pointAddress (): OptionType<Multiaddr> {
  return {
    requirement: POINT_REQUIREMENT,
    placeholder: '<multiaddr>',
    check (value: unknown, context: CheckContext): Multiaddr {
      let ma: Multiaddr

      if (isMultiaddr(value)) {
        ma = value
      } else if (typeof value === 'string') {
        try {
          ma = multiaddr(value)
        } catch (err: any) {
          context.fail(`${POINT_REQUIREMENT} (${String(err?.message ?? err)})`, value)
        }
      } else {
        context.fail(POINT_REQUIREMENT, value)
      }

      if (peerIdOfMultiaddr(ma) == null) {
        context.fail(POINT_REQUIREMENT, value)
      }

      return ma
    },
    fromText: text => text.trim()
  }
}
