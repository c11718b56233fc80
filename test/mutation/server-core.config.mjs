/** `npm run mutation:server:core`: the mutants of src/server's own files (not store/, not points/) against test/server/*.spec.ts */
import { folderConfig } from './folder.mjs'

export default folderConfig('server-core', ['src/server/*.ts'], ['test/server/*.spec.ts'])
