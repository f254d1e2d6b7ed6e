// The native backend: a thin forwarding layer over the C++ addon on oneDNN
// (native/*.cc). No JavaScript loops over elements here; the C++ side checks
// every length so a wrong call throws instead of reading out of bounds.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, BinaryOp, DType, FloatArray, Storage, UnaryOp } from '../backend.js';
import { checkBias } from '../reference/matmul.js';
import type { NativeAddon } from './addon.js';

const BINARY_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };
const UNARY_CODES: Record<UnaryOp, number> = { relu: 0, silu: 1, gelu_tanh: 2, gelu_erf: 3, exp: 4, neg: 5, sqr: 6 };
const BYTES: Record<DType, number> = { f32: 4, bf16: 2, i32: 4 };

/** Where `npm run build:native` (node-gyp) puts the addon, relative to the repo root. */
const ADDON_RELATIVE_PATH = join('build', 'Release', 'cola_native.node');

/** The repository root: the nearest ancestor of this module holding package.json
 * (this file runs from dist/src/backend/native/ or src/backend/native/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}

let loadError: string | null = null;

/** Why the addon could not be loaded (null when it loaded or was never tried). */
export function nativeLoadError(): string | null {
  return loadError;
}

function loadAddon(): NativeAddon | null {
  const path = join(packageRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    loadError = `${path} does not exist`;
    return null;
  }
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    // Present but unloadable: typically libdnnl.so missing at run time.
    loadError = `${path} failed to load: ${(err as Error).message}`;
    return null;
  }
}

/** A Backend forwarding every primitive to `addon`. */
function createNativeBackend(addon: NativeAddon): Backend {
  return {
    name: 'native',
    alloc: (dtype, size) => alignedStorage(addon, dtype, size, true),
    empty: (dtype, size) => alignedStorage(addon, dtype, size, false),
    castToBf16: (src, dst) => {
      if (src.length !== dst.length)
        throw new RangeError(`castToBf16: src has ${src.length} elements but dst has ${dst.length}; pass arrays of equal length`);
      addon.castToBf16(src, dst);
    },
    castToF32: (src, dst) => {
      if (src.length !== dst.length)
        throw new RangeError(`castToF32: src has ${src.length} elements but dst has ${dst.length}; pass arrays of equal length`);
      addon.castToF32(src, dst);
    },
    copyStrided: (src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate) =>
      addon.copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate),
    fill: (x, value) => addon.fill(x, value),
    binary: (op, a, aStrides, b, bStrides, out, shape) => addon.binary(BINARY_CODES[op], a, aStrides, b, bStrides, out, shape),
    unary: (op, x, out) => addon.unary(UNARY_CODES[op], x, out),
    unaryBackward: (op, x, dy, dx, accumulate) => addon.unaryBackward(UNARY_CODES[op], x, dy, dx, accumulate),
    axpby: (alpha, x, beta, y) => addon.axpby(alpha, x, beta, y),
    reduceSum: (x, outer, mid, inner, out, accumulate) => addon.reduceSum(x, outer, mid, inner, out, accumulate),
    sumSquares: (x) => addon.sumSquares(x),
    dropout: (x, out, p, seed, offset) => addon.dropout(x, out, p, seed, offset),
    matmul(args) {
      checkDtype(args.a, args.aDtype, 'a');
      checkDtype(args.b, args.bDtype, 'b');
      const { a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta } = args;
      const packed = args.bPacked ?? null;
      if (packed) checkDtype(packed, args.bDtype, 'bPacked');
      addon.matmul(a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta, checkBias(args), packed);
    },
    packMatmulB(b, k, n, transB) {
      const bf16 = b instanceof Uint16Array;
      const bytes = addon.packedBytes(k, n, bf16);
      const out = alignedStorage(addon, bf16 ? 'bf16' : 'f32', Math.ceil(bytes / (bf16 ? 2 : 4)), false) as FloatArray;
      addon.packB(b, out, k, n, transB);
      return out;
    },
    softmax: (x, out, rows, cols) => addon.softmax(x, out, rows, cols),
    softmaxBackward: (y, dy, dx, rows, cols, accumulate) => addon.softmaxBackward(y, dy, dx, rows, cols, accumulate),
    logSoftmax: (x, out, rows, cols) => addon.logSoftmax(x, out, rows, cols),
    logSoftmaxBackward: (y, dy, dx, rows, cols, accumulate) => addon.logSoftmaxBackward(y, dy, dx, rows, cols, accumulate),
    rmsNorm: (x, weight, out, rstd, rows, cols, eps) => addon.rmsNorm(x, weight, out, rstd, rows, cols, eps),
    rmsNormBackward: (x, weight, rstd, dy, dx, dWeight, rows, cols, accumulate) =>
      addon.rmsNormBackward(x, weight, rstd, dy, dx, dWeight, rows, cols, accumulate),
    layerNorm: (x, weight, bias, out, mean, rstd, rows, cols, eps) => addon.layerNorm(x, weight, bias, out, mean, rstd, rows, cols, eps),
    layerNormBackward: (x, weight, mean, rstd, dy, dx, dWeight, dBias, rows, cols, accumulate) =>
      addon.layerNormBackward(x, weight, mean, rstd, dy, dx, dWeight, dBias, rows, cols, accumulate),
    rope(x, out, positions, cos, sin, a) {
      const layout = a.layout === 'halves' ? 0 : 1;
      addon.rope(x, out, positions, cos, sin, a.batch, a.seq, a.heads, a.headDim, a.rotaryDim, layout, a.inverse);
    },
    attention: (q, k, v, out, lse, a) =>
      addon.attention(q, k, v, out, lse, a.batch, a.headsQ, a.headsKv, a.seqQ, a.seqKv, a.headDim, a.scale, a.causal, a.layout === 'bthd'),
    attentionBackward: (q, k, v, out, lse, dOut, dq, dk, dv, a) =>
      addon.attentionBackward(
        q,
        k,
        v,
        out,
        lse,
        dOut,
        dq,
        dk,
        dv,
        a.batch,
        a.headsQ,
        a.headsKv,
        a.seqQ,
        a.seqKv,
        a.headDim,
        a.scale,
        a.causal,
        a.layout === 'bthd',
      ),
    embedding: (weight, ids, out, dim) => addon.embedding(weight, ids, out, dim),
    embeddingBackward: (ids, dy, dWeight, dim) => addon.embeddingBackward(ids, dy, dWeight, dim),
    crossEntropy: (logits, targets, loss, dLogits, rows, vocab, ignoreIndex, gradScale) =>
      addon.crossEntropy(logits, targets, loss, dLogits, rows, vocab, ignoreIndex, gradScale),
    adamw: (param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step) =>
      addon.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step),
  };
}

/** Storage starting on a 64-byte boundary, in a V8-owned ArrayBuffer over-allocated
 * by 64 bytes, zero-filled or not (allocUnsafeSlow: unpooled, uninitialised). V8
 * frees it when it dies, during GC; the addon's external buffers are freed only
 * once the event loop turns, which a synchronous training loop never lets happen
 * (native/alloc.cc). */
function alignedStorage(addon: NativeAddon, dtype: DType, size: number, zeroed: boolean): Storage {
  const bytes = size * BYTES[dtype] + 64;
  const buffer = zeroed ? new ArrayBuffer(bytes) : (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer);
  const pad = addon.alignPad(buffer);
  if (dtype === 'f32') return new Float32Array(buffer, pad, size);
  if (dtype === 'bf16') return new Uint16Array(buffer, pad, size);
  return new Int32Array(buffer, pad, size);
}

/** The declared dtype must match the storage kind (the addon infers it from the array). */
function checkDtype(x: Float32Array | Uint16Array, dtype: 'f32' | 'bf16', name: string): void {
  const ok = dtype === 'bf16' ? x instanceof Uint16Array : x instanceof Float32Array;
  if (!ok) {
    const want = dtype === 'bf16' ? 'a Uint16Array of bf16 bits' : 'a Float32Array';
    throw new TypeError(`matmul: ${name}Dtype is ${dtype}, so ${name} must be ${want}`);
  }
}

let cached: Backend | null | undefined;

/** The native backend, or null when the addon is not built or cannot load
 * (see nativeLoadError()). Loads once. */
export function loadNativeBackend(): Backend | null {
  if (cached === undefined) {
    const addon = loadAddon();
    cached = addon ? createNativeBackend(addon) : null;
  }
  return cached;
}
