// The reference backend: plain TypeScript loops, the specification every native
// kernel is checked against. Obvious over fast; sums accumulate in f64.

import type { Backend } from '../backend.js';
import { adamw } from './adamw.js';
import { alloc } from './alloc.js';
import { attention, attentionBackward } from './attention.js';
import { castToBf16, castToF32 } from './bf16.js';
import { copyStrided, fill } from './copy.js';
import { crossEntropy } from './crossEntropy.js';
import { axpby, binary, dropout, reduceSum, sumSquares } from './elementwise.js';
import { embedding, embeddingBackward } from './embedding.js';
import { matmul } from './matmul.js';
import { quantMatmul, quantize } from './quantMatmul.js';
import { layerNorm, layerNormBackward, rmsNorm, rmsNormBackward } from './norm.js';
import { rope } from './rope.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from './softmax.js';
import { unary, unaryBackward } from './unary.js';

export { bf16BitsToF32, f32ToBf16Bits, roundToBf16 } from './bf16.js';
export { erf, erfc } from './erf.js';

export const referenceBackend: Backend = {
  name: 'reference',
  alloc,
  empty: alloc,
  castToBf16,
  castToF32,
  copyStrided,
  fill,
  binary,
  unary,
  unaryBackward,
  axpby,
  reduceSum,
  sumSquares,
  dropout,
  matmul,
  quantMatmul,
  quantize,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  rmsNorm,
  rmsNormBackward,
  layerNorm,
  layerNormBackward,
  rope,
  attention,
  attentionBackward,
  embedding,
  embeddingBackward,
  crossEntropy,
  adamw,
};
