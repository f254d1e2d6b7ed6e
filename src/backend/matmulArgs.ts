// A plain product's MatmulArgs (one batch, no transposes, alpha 1, beta 0, f32
// operands) with only what a caller varies given: the backend contract's defaults in
// one place, for the benchmarks and the tests.

import type { MatmulArgs } from './backend.js';

export function plainMatmulArgs(over: Partial<MatmulArgs> & Pick<MatmulArgs, 'a' | 'b' | 'c' | 'm' | 'n' | 'k'>): MatmulArgs {
  return {
    batch: 1,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
    alpha: 1,
    beta: 0,
    aDtype: 'f32',
    bDtype: 'f32',
    ...over,
  };
}
