import { disable, enable, enabled } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { applyLogLevel } from '../../src/cli/log-level.ts'

describe('rendezvous-server --log-level', () => {
  // the debug switches are global to the process: put back whatever the test run had
  const before = process.env.DEBUG

  afterEach(() => {
    disable()
    if (before != null && before !== '') {
      enable(before)
    }
  })

  it('error: only the rendezvous loggers\' error channels', () => {
    applyLogLevel('error', undefined)

    expect(enabled('libp2p:rendezvous:server:error')).to.be.true()
    expect(enabled('libp2p:rendezvous:store:postgres:error')).to.be.true()
    expect(enabled('libp2p:rendezvous:server')).to.be.false()
    expect(enabled('libp2p:tcp:error')).to.be.false()
  })

  it('info: the rendezvous loggers without their trace channels', () => {
    applyLogLevel('info', undefined)

    expect(enabled('libp2p:rendezvous:server')).to.be.true()
    expect(enabled('libp2p:rendezvous:cli')).to.be.true()
    expect(enabled('libp2p:rendezvous:server:trace')).to.be.false()
    expect(enabled('libp2p:tcp')).to.be.false()
  })

  it('debug and trace: all of libp2p, trace channels only at trace', () => {
    applyLogLevel('debug', undefined)
    expect(enabled('libp2p:tcp')).to.be.true()
    expect(enabled('libp2p:tcp:trace')).to.be.false()

    applyLogLevel('trace', undefined)
    expect(enabled('libp2p:tcp:trace')).to.be.true()
  })

  it('silent: nothing; and a DEBUG variable overrides any level', () => {
    applyLogLevel('silent', undefined)
    expect(enabled('libp2p:rendezvous:server:error')).to.be.false()

    applyLogLevel('silent', 'libp2p:identify*')
    expect(enabled('libp2p:identify')).to.be.true()
    expect(enabled('libp2p:rendezvous:server:error')).to.be.false()
  })
})
