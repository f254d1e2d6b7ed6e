import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref, roundToBf16 } from '../../../src/backend/reference/index.js';
import { randn } from '../../helpers/random.js';
import { matmulArgs as args } from '../../helpers/matmulArgs.js';
import { assertClose } from '../../helpers/tolerance.js';

/** x [rows, cols] -> x^T [cols, rows] */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

test('matmul: a 2x3 by 3x2 product computed by hand', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float32Array([7, 8, 9, 10, 11, 12]);
  const c = new Float32Array(4).fill(NaN); // beta 0 must ignore what is there
  ref.matmul(args({ a, b, c, m: 2, n: 2, k: 3 }));
  assert.deepEqual(Array.from(c), [58, 64, 139, 154]);
});

test('matmul: transA and transB read transposed storage', () => {
  const [m, n, k] = [3, 5, 7];
  const a = randn(m * k, 1); // [m, k]
  const b = randn(k * n, 2); // [k, n]
  const plain = new Float32Array(m * n);
  ref.matmul(args({ a, b, c: plain, m, n, k }));
  for (const [transA, transB] of [
    [true, false],
    [false, true],
    [true, true],
  ]) {
    const c = new Float32Array(m * n);
    ref.matmul(args({ a: transA ? transpose(a, m, k) : a, b: transB ? transpose(b, k, n) : b, c, m, n, k, transA, transB }));
    assertClose(c, plain, { dtype: 'f32', what: `matmul transA=${transA} transB=${transB}` });
  }
});

test('matmul: batch strides, 0 broadcasting B, with alpha and beta', () => {
  const [batch, m, n, k] = [3, 2, 4, 5];
  const a = randn(batch * m * k, 3);
  const b = randn(k * n, 4); // one matrix for all batch items
  const c0 = randn(batch * m * n, 5);
  const c = c0.slice();
  ref.matmul(args({ a, b, c, m, n, k, batch, aBatchStride: m * k, bBatchStride: 0, alpha: 0.5, beta: 1 }));
  for (let bi = 0; bi < batch; bi++) {
    const one = new Float32Array(m * n);
    ref.matmul(args({ a: a.subarray(bi * m * k, (bi + 1) * m * k), b, c: one, m, n, k }));
    const expected = Array.from(one, (v, i) => 0.5 * v + c0[bi * m * n + i]);
    assertClose(c.subarray(bi * m * n, (bi + 1) * m * n), expected, { dtype: 'f32', what: `batch item ${bi}` });
  }
});

test('matmul: a bf16 operand rounds the f32 one to bf16 first (compute bf16)', () => {
  const [m, n, k] = [2, 3, 4];
  const a = randn(m * k, 6);
  const b = randn(k * n, 7);
  const bBits = new Uint16Array(b.length);
  ref.castToBf16(b, bBits);
  const mixed = new Float32Array(m * n);
  ref.matmul(args({ a, b: bBits, c: mixed, m, n, k, bDtype: 'bf16', compute: 'bf16' }));
  const expected = new Float32Array(m * n);
  ref.matmul(args({ a: a.map(roundToBf16), b: b.map(roundToBf16), c: expected, m, n, k }));
  assert.deepEqual(mixed, expected);
  // The rounding is real: the f32 product differs.
  const f32 = new Float32Array(m * n);
  ref.matmul(args({ a, b, c: f32, m, n, k }));
  assert.notDeepEqual(mixed, f32);
  assertClose(mixed, f32, { dtype: 'bf16', what: 'bf16 vs f32 product' });
});

test('matmul: compute f32 widens the bf16 operand exactly and rounds nothing (issue 15)', () => {
  const [m, n, k] = [2, 3, 4];
  const a = randn(m * k, 6);
  const b = randn(k * n, 7);
  const bBits = new Uint16Array(b.length);
  ref.castToBf16(b, bBits);
  const widened = new Float32Array(m * n);
  ref.matmul(args({ a, b: bBits, c: widened, m, n, k, bDtype: 'bf16', compute: 'f32' }));
  const expected = new Float32Array(m * n);
  ref.matmul(args({ a, b: b.map(roundToBf16), c: expected, m, n, k }));
  assert.deepEqual(widened, expected);
});

test('matmul: a dtype that does not match the storage is rejected', () => {
  const c = new Float32Array(1);
  assert.throws(
    () => ref.matmul(args({ a: new Float32Array(1), b: new Float32Array(1), c, m: 1, n: 1, k: 1, aDtype: 'bf16' })),
    /Uint16Array/,
  );
});

test('matmul: a bias is added to every row before beta * C, and needs alpha 1', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float32Array([7, 8, 9, 10, 11, 12]);
  const bias = new Float32Array([0.5, -1]);
  const c = new Float32Array([1, 1, 1, 1]);
  ref.matmul(args({ a, b, c, m: 2, n: 2, k: 3, bias, beta: 1 }));
  assert.deepEqual(Array.from(c), [59.5, 64, 140.5, 154]);
  assert.throws(() => ref.matmul(args({ a, b, c, m: 2, n: 2, k: 3, bias, alpha: 2 })), /alpha 1/);
});
