/**
 * A REGISTER whose signed peer record is above `maxRecordSize` is refused before its signature is checked: the
 * size costs nothing to read, the check is most of what a REGISTER costs (handle-register.ts), and such a record
 * could not be kept anyway. So a peer sending large records over and over makes the point do no crypto at all.
 *
 * The checks are counted where the server counts them for its metrics (`libp2p_rendezvous_server_record_checks_total`,
 * from the verified-record cache's stats), with the cache turned off so that every record that reaches the check
 * is counted as one.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { Message } from '../../src/pb/rendezvous.ts'
import { ownRecord, register, TestNodes } from './fixtures.ts'
import type { ServerNode } from './fixtures.ts'

const { ResponseStatus } = Message

/** Signature checks the server has run */
function signatureChecks (point: ServerNode): number {
  return (point.services.rendezvous as any).records.stats().checks
}

describe('server: a record above maxRecordSize', () => {
  const nodes = new TestNodes()

  afterEach(async () => {
    await nodes.stopAll()
  })

  it('is refused with E_INVALID_SIGNED_PEER_RECORD before its signature check, however often it comes', async () => {
    const point = await nodes.server({ maxRecordSize: 600, verifiedRecordCacheSize: 0 })
    const peer = await nodes.client()
    // a record the peer really signed, made large by long addresses
    const large = await ownRecord(peer, Array.from({ length: 3 }, (_, i) => multiaddr(`/dns4/host-${i}${'x'.repeat(150)}.example.com/tcp/${1000 + i}`)))
    expect(large.byteLength).to.be.above(600)

    for (const ns of ['a', 'b', 'a']) {
      const refused = await register(peer, point, ns, { signedPeerRecord: large })
      expect(refused.status).to.equal(ResponseStatus.E_INVALID_SIGNED_PEER_RECORD)
      expect(refused.statusText).to.equal(`signed peer record is ${large.byteLength} bytes, above the 600 this point accepts`)
    }

    expect(signatureChecks(point), 'signature checks of records above maxRecordSize').to.equal(0)

    // the count is live: a record within the limit is checked, once per REGISTER with the cache off
    expect((await register(peer, point, 'a')).status).to.equal(ResponseStatus.OK)
    expect(signatureChecks(point), 'signature checks after one REGISTER within the limit').to.equal(1)
  })
})
