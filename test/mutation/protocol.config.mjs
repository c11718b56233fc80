/** `npm run mutation:protocol`: src/protocol's mutants against test/protocol's specs (test/mutation/folder.mjs) */
import { folderConfig } from './folder.mjs'

export default folderConfig('protocol', ['src/protocol/**/*.ts'], ['test/protocol/*.spec.ts'])
