// Product with a quantized weight: dequantize all of W, then the reference matmul.
// The specification of every quantized kernel (issue 17).

import type { Backend, QuantizeArgs, QuantMatmulArgs } from '../backend.js';
import { dequantize, quantize as quantizeCodec } from '../quant/codec.js';
import { checkQuantMatmul } from '../quant/checks.js';
import { matmul } from './matmul.js';

export const quantMatmul: Backend['quantMatmul'] = (args: QuantMatmulArgs) => {
  checkQuantMatmul(args);
  const { x, w, out, m, mode, beta } = args;
  const forward = mode === 'forward';
  matmul({
    a: x,
    b: dequantize(w), // [rows, cols]
    c: out,
    batch: 1,
    m,
    n: forward ? w.rows : w.cols,
    k: forward ? w.cols : w.rows,
    transA: false,
    transB: forward,
    aBatchStride: 0,
    bBatchStride: 0,
    alpha: 1,
    beta,
    aDtype: 'f32',
    bDtype: 'f32',
  });
};

/** The codec itself (the specification of Backend.quantize). */
export const quantize: Backend['quantize'] = (a: QuantizeArgs) =>
  quantizeCodec(a.values, a.rows, a.cols, a.format, { doubleQuant: a.doubleQuant, groupSize: a.groupSize });
