/** @type {import('aegir').PartialOptions} */
export default {
  build: {
    // the package is consumed as ESM; the browser end-to-end tests bundle what they need themselves
    bundle: false
  },
  dependencyCheck: {
    // the quick starts in examples/ import the package by its name, as a user's code does
    ignore: ['libp2p-rendezvous-discovery'],
    productionIgnorePatterns: ['/benchmarks', '/dist', '/test', '/examples', '.aegir.js']
  }
}
