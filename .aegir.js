/** @type {import('aegir').PartialOptions} */
export default {
  build: {
    // the package is consumed as ESM; the browser end-to-end tests bundle what they need themselves
    bundle: false
  },
  dependencyCheck: {
    productionIgnorePatterns: ['/benchmarks', '/dist', '/test', '/examples', '.aegir.js']
  }
}
