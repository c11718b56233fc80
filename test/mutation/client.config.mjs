/** `npm run mutation:client`: src/client's mutants against test/client's specs (test/mutation/folder.mjs) */
import { folderConfig } from './folder.mjs'

export default folderConfig('client', ['src/client/**/*.ts'], ['test/client/*.spec.ts'])
