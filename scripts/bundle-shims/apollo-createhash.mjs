// Stands in for @apollo/utils.createhash inside dist/main.mjs (see
// scripts/bundle.mjs). That package picks Node's crypto through
// `module.require('crypto')` on every call: inside a bundle `module.require`
// does not exist and it would fall back to a JavaScript SHA-256, and loaded
// from node_modules it goes through Module._load on every call (Apollo hashes
// each request's query with it). In Node the two are the same function.
export { createHash } from 'node:crypto';
