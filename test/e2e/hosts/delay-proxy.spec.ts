/**
 * The delaying TCP proxy of the hosts harness (test/fixtures/hosts/delay-proxy.ts), on 127.0.0.1, in front of a
 * real echo server: it must pass bytes unchanged and in order both ways, each way after its delay, hold no more than
 * its bound when the far side does not read, and pass half-closes on. Needs no root: the proxy is plain TCP.
 */
import { randomBytes } from 'node:crypto'
import { createConnection, createServer } from 'node:net'
import { expect } from 'aegir/chai'
import { DelayProxy } from '../../fixtures/hosts/delay-proxy.ts'
import type { DelayProxyInit } from '../../fixtures/hosts/delay-proxy.ts'
import type { Server, Socket } from 'node:net'

async function listen (server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') {
    throw new Error('no port')
  }
  return address.port
}

async function connect (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true }, () => { resolve(socket) })
    socket.once('error', reject)
  })
}

/** Reads until `bytes` have arrived (or the socket ends), within `timeoutMs` */
async function read (socket: Socket, bytes: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const timer = setTimeout(() => { done(new Error(`read ${length} of ${bytes} bytes in ${timeoutMs} ms`)) }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      length += chunk.length
      if (length >= bytes) {
        done()
      }
    }
    const onEnd = (): void => { done() }
    const done = (err?: Error): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      if (err != null) {
        reject(err)
      } else {
        resolve(Buffer.concat(chunks))
      }
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
  })
}

describe('the delaying TCP proxy of the hosts harness', function () {
  this.timeout(30_000)

  let echo: Server
  let echoPort: number
  const proxies: DelayProxy[] = []
  const sockets: Socket[] = []

  beforeEach(async () => {
    // echoes everything and ends its side when the client ends its own
    echo = createServer({ allowHalfOpen: true, noDelay: true }, socket => {
      socket.on('error', () => {})
      socket.pipe(socket)
    })
    echoPort = await listen(echo)
  })

  afterEach(async () => {
    sockets.splice(0).forEach(socket => socket.destroy())
    await Promise.all(proxies.splice(0).map(async proxy => proxy.stop()))
    await new Promise(resolve => echo.close(resolve))
  })

  async function startProxy (init: Partial<DelayProxyInit>): Promise<{ proxy: DelayProxy, client: Socket }> {
    const proxy = new DelayProxy({ listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: echoPort, delayMs: 0, ...init })
    proxies.push(proxy)
    const { port } = await proxy.start()
    const client = await connect(port)
    sockets.push(client)
    return { proxy, client }
  }

  it('adds its one-way delay in each direction: a round trip through it takes at least twice the delay', async () => {
    const { proxy, client } = await startProxy({ delayMs: 40 })
    const rtts: number[] = []
    for (let i = 0; i < 5; i++) {
      const start = performance.now()
      client.write(Buffer.from([i]))
      expect([...await read(client, 1)]).to.deep.equal([i])
      rtts.push(performance.now() - start)
    }
    rtts.sort((a, b) => a - b)
    expect(rtts[0]).to.be.at.least(79)
    // a round trip on loopback takes well under a millisecond: what is left is the proxy's timer, on a busy machine
    expect(rtts[2]).to.be.below(80 + 40)
    const stats = proxy.stats()
    expect(stats.held.median).to.be.at.least(39.5)
    expect(stats.bytes).to.deep.equal({ toTarget: 5, toClient: 5 })
  })

  it('passes a large transfer through unchanged both ways, and the half-close after it', async () => {
    const { client } = await startProxy({ delayMs: 5, maxBufferedBytes: 64 * 1024 })
    const data = randomBytes(4 * 1024 * 1024)
    const echoed = read(client, data.length + 1, 20_000)
    client.end(data)
    // the echo server ends its side once the client's end reached it through the proxy: `read` resolves on that end
    expect((await echoed).equals(data)).to.be.true()
  })

  it('keeps bytes in order when each chunk draws a different delay', async () => {
    const { proxy, client } = await startProxy({ delayMs: 20, distribution: 'uniform', jitterMs: 18 })
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.from(`${String(i).padStart(4, '0')};`))
    const expected = Buffer.concat(chunks)
    const echoed = read(client, expected.length)
    for (const chunk of chunks) {
      client.write(chunk)
      // separate reads at the proxy, so that each chunk gets a delay of its own
      await new Promise(resolve => setTimeout(resolve, 1))
    }
    expect((await echoed).toString()).to.equal(expected.toString())
    // the draws were spread: some chunks waited far less than others
    const { held } = proxy.stats()
    expect(held.max! - (held.median ?? 0)).to.be.greaterThan(3)
  })

  it('stops reading from a sender when the far side does not read, holding no more than its bound', async () => {
    // a target that accepts and never reads
    const stalled: Socket[] = []
    const sink = createServer(socket => { socket.pause(); stalled.push(socket) })
    const sinkPort = await listen(sink)
    try {
      const bound = 256 * 1024
      const { proxy, client } = await startProxy({ targetPort: sinkPort, delayMs: 1, maxBufferedBytes: bound })
      const chunk = Buffer.alloc(64 * 1024)
      let written = 0
      // write until the client's own buffer stays full for a while: the proxy has stopped reading
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        if (client.write(chunk)) {
          written += chunk.length
          continue
        }
        written += chunk.length
        const drained = await Promise.race([
          new Promise(resolve => client.once('drain', () => { resolve(true) })),
          new Promise(resolve => setTimeout(resolve, 500, false))
        ])
        if (drained === false) {
          break
        }
      }
      expect(Date.now()).to.be.below(deadline, 'the proxy kept reading for 10 s from a connection whose target reads nothing')
      const { maxHeldBytes } = proxy.stats()
      expect(maxHeldBytes).to.be.at.most(bound + 64 * 1024)
      // the kernel buffers of both connections take the rest, and they are bounded too
      expect(written).to.be.below(64 * 1024 * 1024)
    } finally {
      stalled.forEach(socket => socket.destroy())
      await new Promise(resolve => sink.close(resolve))
    }
  })

  it('refuses a delay that is not a number of milliseconds', () => {
    expect(() => new DelayProxy({ listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: 1, delayMs: -1 })).to.throw(/delayMs/)
    expect(() => new DelayProxy({ listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: 1, delayMs: 5, distribution: 'pareto' as any })).to.throw(/distribution/)
  })
})
