import { readFile } from 'node:fs/promises'

const PACKAGE_NAME = 'libp2p-rendezvous-discovery'

/** This package's version, from its package.json (found above src/cli or dist/src/cli) */
export async function packageVersion (): Promise<string> {
  for (let up = 1; up <= 4; up++) {
    try {
      const json = JSON.parse(await readFile(new URL(`${'../'.repeat(up)}package.json`, import.meta.url), 'utf8'))

      if (json.name === PACKAGE_NAME) {
        return String(json.version)
      }
    } catch {
      // not there: look one directory up
    }
  }

  return 'unknown'
}
