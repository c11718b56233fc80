import { readFile } from 'node:fs/promises'

const PACKAGE_NAME = 'libp2p-rendezvous-discovery'

export interface OwnPackageJson {
  name: string
  version: string
  peerDependencies?: Record<string, string>
}

/** This package's package.json (found above src/cli or dist/src/cli), or undefined when it cannot be read */
export async function ownPackageJson (): Promise<OwnPackageJson | undefined> {
  for (let up = 1; up <= 4; up++) {
    try {
      const json = JSON.parse(await readFile(new URL(`${'../'.repeat(up)}package.json`, import.meta.url), 'utf8'))

      if (json.name === PACKAGE_NAME) {
        return json
      }
    } catch {
      // not there: look one directory up
    }
  }
}

/** This package's version */
export async function packageVersion (): Promise<string> {
  return String((await ownPackageJson())?.version ?? 'unknown')
}
