// Injected into every file of the browser bundle (esbuild `inject`): the Node globals
// the library reads, `process` and `Buffer`, as browser implementations.
export { process } from './process.js';
export { Buffer } from './buffer.js';
