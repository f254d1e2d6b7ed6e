// A plain product's MatmulArgs for the tests: src/backend/matmulArgs.ts.
export { plainMatmulArgs as matmulArgs } from '../../src/backend/matmulArgs.js';
