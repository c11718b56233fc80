/** `npm run mutation:server:points`: src/server/points's mutants against test/server/points's specs */
import { folderConfig } from './folder.mjs'

export default folderConfig('server-points', ['src/server/points/*.ts'], ['test/server/points/*.spec.ts'])
