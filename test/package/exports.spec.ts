/**
 * The package's public face: what `libp2p-rendezvous-discovery` and `libp2p-rendezvous-discovery/postgres` export
 * at run time. A user builds the services with the factories and catches the error classes; the classes that
 * implement the services, the stores and the generated protobuf code stay inside, so they can change without a
 * breaking release. A name added here is a name the package promises to keep.
 */
import { expect } from 'aegir/chai'
import * as face from '../../src/index.ts'
import * as postgres from '../../src/postgres.ts'

const FACTORIES = ['rendezvousDiscovery', 'rendezvousServer', 'memoryRegistrationStore', 'rendezvousClient', 'dappNamespace', 'topicNamespace']
const CONSTANTS = ['PROTOCOL', 'POINTS_NAMESPACE', 'RELAY_NAMESPACE', 'TAG_NAMES', 'STATUS_CODES']
const ERRORS = ['RendezvousError', 'InvalidResponseError', 'InvalidPeerRecordError', 'InvalidCookieError', 'InvalidNamespaceError',
  'NoAddressesError', 'NoRendezvousPointsError', 'StoreUnavailableError', 'UnsupportedRuntimeError']

/** A class, as opposed to a plain function: its source starts with `class` */
function isClass (value: unknown): boolean {
  return typeof value === 'function' && Function.prototype.toString.call(value).startsWith('class')
}

describe('the public face', () => {
  it('exports the factories, the constants and the error classes, nothing else', () => {
    expect(Object.keys(face)).to.have.members([...FACTORIES, ...CONSTANTS, ...ERRORS])
  })

  it('exports no class but the errors', () => {
    const classes = Object.entries(face).filter(([, value]) => isClass(value))
    expect(classes.map(([name]) => name)).to.have.members(ERRORS)
    for (const [name, value] of classes) {
      expect((value as new (...args: any[]) => unknown).prototype, name).to.be.an.instanceOf(Error)
    }
  })

  it('exports only the store factory from ./postgres', () => {
    expect(Object.keys(postgres)).to.deep.equal(['postgresRegistrationStore'])
    expect(isClass(postgres.postgresRegistrationStore)).to.be.false()
  })
})
