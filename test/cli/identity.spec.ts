import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { IdentityFileError, loadOrCreateIdentity } from '../../src/cli/identity.ts'

describe('rendezvous-server identity file', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdv-identity-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('creates an Ed25519 key readable only by its owner, in a directory it creates', async () => {
    const path = join(dir, 'state', 'identity.key')
    const identity = await loadOrCreateIdentity(path)

    expect(identity.created).to.be.true()
    expect(identity.privateKey.type).to.equal('Ed25519')
    expect((await stat(path)).mode & 0o777).to.equal(0o600)
    expect((await stat(join(dir, 'state'))).mode & 0o777).to.equal(0o700)
    // the file is libp2p's protobuf encoding of the key
    expect(peerIdFromPrivateKey(privateKeyFromProtobuf(await readFile(path))).toString()).to.equal(peerIdFromPrivateKey(identity.privateKey).toString())
  })

  it('reuses the key on later starts, so the peer id stays the same', async () => {
    const path = join(dir, 'identity.key')
    const first = await loadOrCreateIdentity(path)
    const second = await loadOrCreateIdentity(path)

    expect(second.created).to.be.false()
    expect(peerIdFromPrivateKey(second.privateKey).equals(peerIdFromPrivateKey(first.privateKey))).to.be.true()
    expect(second.warning).to.be.undefined()
  })

  it('gives every one of several concurrent first starts the same key', async () => {
    const path = join(dir, 'identity.key')
    const identities = await Promise.all([1, 2, 3, 4, 5].map(async () => loadOrCreateIdentity(path)))
    const ids = new Set(identities.map(identity => peerIdFromPrivateKey(identity.privateKey).toString()))

    expect(ids.size).to.equal(1)
    expect(identities.filter(identity => identity.created)).to.have.lengthOf(1)
  })

  it('warns, without refusing, when other users can read the key', async () => {
    const path = join(dir, 'identity.key')
    await loadOrCreateIdentity(path)
    await chmod(path, 0o644)

    const identity = await loadOrCreateIdentity(path)
    expect(identity.warning).to.include('readable by other users').and.include('0644')
  })

  it('refuses a file that does not hold a key rather than replacing it', async () => {
    const path = join(dir, 'identity.key')
    await writeFile(path, 'not a key')

    await expect(loadOrCreateIdentity(path)).to.eventually.be.rejected.with.property('name', IdentityFileError.name)
    expect(await readFile(path, 'utf8')).to.equal('not a key')
  })
})
