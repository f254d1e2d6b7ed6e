import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UnaryOp } from '../../../src/backend/backend.js';
import { dropoutUniform } from '../../../src/backend/backend.js';
import { erf, erfc, referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

const UNARY_OPS: UnaryOp[] = ['relu', 'silu', 'gelu_tanh', 'gelu_erf', 'exp', 'neg', 'sqr', 'tanh'];

test('erf and erfc match tabulated values (erfc relatively, in the tail too)', () => {
  // Values from Python's math.erf / math.erfc.
  assertClose(
    [erf(0), erf(0.5), erf(1), erf(2), erf(-1)],
    [0, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.8427007929497149],
    {
      dtype: 'f32',
      what: 'erf',
      rtol: 0,
      atol: 2e-7,
    },
  );
  assertClose([erfc(3), erfc(5)], [2.209049699858544e-5, 1.5374597944280349e-12], { dtype: 'f32', what: 'erfc tail', rtol: 2e-7, atol: 0 });
});

test('unary: exact values at a few points', () => {
  const x = new Float32Array([-2, 0, 1.5]);
  const out = new Float32Array(3);
  const expect: Record<UnaryOp, number[]> = {
    relu: [0, 0, 1.5],
    silu: [-2 / (1 + Math.exp(2)), 0, 1.5 / (1 + Math.exp(-1.5))],
    gelu_tanh: [-0.04540230591222494, 0, 1.3995715769802328],
    gelu_erf: [-0.04550026389635842, 0, 1.399789198096713],
    exp: [Math.exp(-2), 1, Math.exp(1.5)],
    neg: [2, -0, -1.5],
    sqr: [4, 0, 2.25],
    tanh: [Math.tanh(-2), 0, Math.tanh(1.5)],
  };
  for (const op of UNARY_OPS) {
    ref.unary(op, x, out);
    assertClose(out, expect[op], { dtype: 'f32', what: `unary ${op}`, rtol: 1e-6, atol: 1e-7 });
  }
});

test('unaryBackward: every op matches finite differences', () => {
  // Keep x away from relu's kink at 0 so the central difference is valid.
  const x = randn(3 * 5 * 7, 11).map((v) => (Math.abs(v) < 0.1 ? v + 0.3 : v));
  const w = randn(x.length, 12);
  for (const op of UNARY_OPS) {
    const dx = new Float32Array(x.length);
    ref.unaryBackward({ op, x, dy: w, dx, accumulate: false });
    checkGradient({
      what: `unary ${op}`,
      input: x,
      weights: w,
      analytic: dx,
      eps: 1e-3,
      forward: () => {
        const y = new Float32Array(x.length);
        ref.unary(op, x, y);
        return y;
      },
    });
  }
});

test('unaryBackward: accumulate adds to dx, overwrite ignores it', () => {
  const x = randn(9, 3);
  const dy = randn(9, 4);
  const fresh = new Float32Array(9);
  ref.unaryBackward({ op: 'silu', x, dy, dx: fresh, accumulate: false });
  const garbage = new Float32Array(9).fill(NaN);
  ref.unaryBackward({ op: 'silu', x, dy, dx: garbage, accumulate: false });
  assert.deepEqual(garbage, fresh);
  const acc = new Float32Array(9).fill(1);
  ref.unaryBackward({ op: 'silu', x, dy, dx: acc, accumulate: true });
  assertClose(
    acc,
    Array.from(fresh, (g) => g + 1),
    { dtype: 'f32', what: 'accumulated dx' },
  );
});

test('binary: broadcasts a row over a matrix with zero strides', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = new Float32Array([10, 20, 30]); // [3], broadcast over rows
  const out = new Float32Array(6);
  ref.binary({ op: 'add', a, aStrides: [3, 1], b, bStrides: [0, 1], out, shape: [2, 3] });
  assert.deepEqual(Array.from(out), [11, 22, 33, 14, 25, 36]);
  ref.binary({ op: 'sub', a, aStrides: [3, 1], b, bStrides: [0, 1], out, shape: [2, 3] });
  assert.deepEqual(Array.from(out), [-9, -18, -27, -6, -15, -24]);
  ref.binary({ op: 'mul', a, aStrides: [1, 3], b, bStrides: [1, 0], out, shape: [3, 2] }); // a read transposed, b per row
  assert.deepEqual(Array.from(out), [10, 40, 40, 100, 90, 180]);
  ref.binary({ op: 'div', a, aStrides: [3, 1], b: new Float32Array([2]), bStrides: [0, 0], out, shape: [2, 3] });
  assert.deepEqual(Array.from(out), [0.5, 1, 1.5, 2, 2.5, 3]);
});

test('axpby: beta 0 overwrites even NaN, y may be x', () => {
  const y = new Float32Array([NaN, NaN]);
  ref.axpby(2, new Float32Array([1, 2]), 0, y);
  assert.deepEqual(Array.from(y), [2, 4]);
  ref.axpby(3, y, -1, y); // y = 3y - y
  assert.deepEqual(Array.from(y), [4, 8]);
});

test('reduceSum: sums the middle axis of [2, 3, 2]', () => {
  const x = new Float32Array(12).map((_, i) => i);
  const out = new Float32Array(4).fill(100);
  ref.reduceSum({ x, outer: 2, mid: 3, inner: 2, out, accumulate: false });
  assert.deepEqual(Array.from(out), [0 + 2 + 4, 1 + 3 + 5, 6 + 8 + 10, 7 + 9 + 11]);
  ref.reduceSum({ x, outer: 2, mid: 3, inner: 2, out, accumulate: true });
  assert.deepEqual(Array.from(out), [12, 18, 48, 54]);
});

test('sumSquares: f64 accumulation', () => {
  assert.equal(ref.sumSquares(new Float32Array([3, 4])), 25);
  // 2^24 + 1 is not an f32, but the f64 sum keeps the 1.
  assert.equal(ref.sumSquares(new Float32Array([4096, 1])), 2 ** 24 + 1);
});

test('dropout: keeps exactly the elements the shared hash keeps, scaled by 1/(1-p)', () => {
  const x = randn(1000, 5);
  const out = new Float32Array(x.length);
  const p = 0.3;
  ref.dropout({ x, out, p, seed: 1234, offset: 77 });
  let kept = 0;
  for (let i = 0; i < x.length; i++) {
    const keep = dropoutUniform(1234, 77 + i) >= p;
    kept += keep ? 1 : 0;
    assert.equal(out[i], keep ? Math.fround(x[i] / (1 - p)) : 0);
  }
  assert.ok(Math.abs(kept / x.length - (1 - p)) < 0.06, `kept fraction ${kept / x.length}`);
  ref.dropout({ x, out, p: 0, seed: 1, offset: 0 });
  assert.deepEqual(out, x);
  ref.dropout({ x, out, p: 1, seed: 1, offset: 0 });
  assert.ok(out.every((v) => v === 0));
});
