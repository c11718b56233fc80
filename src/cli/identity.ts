/**
 * The server's identity: a private key kept in a file, so its peer id (and with it every multiaddr clients have
 * configured) survives restarts.
 *
 * The file holds the key in libp2p's protobuf encoding (`privateKeyToProtobuf`), the same bytes other libp2p
 * implementations read. It is created on first start with mode 0600 in a directory created with mode 0700, and
 * created exclusively, so two servers started at once on one file cannot end up with different keys.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export interface Identity {
  privateKey: PrivateKey
  /** True when this start created the file */
  created: boolean
  /** Set when the file can be read by other users: a warning to print, the key is still used */
  warning?: string
}

/** The file exists but does not hold a private key: the server must not start with another identity */
export class IdentityFileError extends Error {
  static name = 'IdentityFileError'
  name = 'IdentityFileError'
}

async function readIdentity (path: string): Promise<Identity> {
  const bytes = await readFile(path)

  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(bytes)
  } catch (err: any) {
    throw new IdentityFileError(`identity file ${path} does not hold a libp2p private key (${err.message}); move it away to create a new identity`)
  }

  const mode = (await stat(path)).mode & 0o777
  const warning = (mode & 0o077) !== 0
    ? `identity file ${path} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`
    : undefined

  return { privateKey, created: false, warning }
}

/** Reads the key at `path`, or creates it (Ed25519) when there is no file yet */
export async function loadOrCreateIdentity (path: string): Promise<Identity> {
  try {
    return await readIdentity(path)
  } catch (err: any) {
    if (err.code !== 'ENOENT') {
      throw err
    }
  }

  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const privateKey = await generateKeyPair('Ed25519')

  try {
    // 'wx': fail rather than overwrite a key another process wrote in the meantime
    await writeFile(path, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: 'wx' })
  } catch (err: any) {
    if (err.code === 'EEXIST') {
      return readIdentity(path)
    }
    throw err
  }

  // the mode given to writeFile is reduced by the umask; make sure it is exactly 0600
  await chmod(path, 0o600)
  return { privateKey, created: true }
}
