import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RopeShape, RopeLayout } from '../../../src/backend/backend.js';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

/** cos/sin tables [maxPositions, rotaryDim / 2] with theta_i = base^(-2i/rotaryDim). */
function tables(maxPositions: number, rotaryDim: number, base = 10000) {
  const half = rotaryDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * base ** (-(2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

const shape = { batch: 2, seq: 3, heads: 3, headDim: 10, rotaryDim: 6 }; // partial rotary
const positions = new Int32Array([4, 0, 7]);
const { cos, sin } = tables(8, shape.rotaryDim);

function apply(x: Float32Array, layout: RopeLayout, inverse: boolean): Float32Array {
  const out = new Float32Array(x.length);
  const args: RopeShape = { ...shape, layout, inverse };
  ref.rope({ x, out, positions, cos, sin, ...args });
  return out;
}

test('rope: rotates pairs by hand for both layouts', () => {
  // One head of dim 4, position 1, angle a for pair 0 and b for pair 1.
  const [a, b] = [0.5, 0.25];
  const c = new Float32Array([1, 1, Math.cos(a), Math.cos(b)]);
  const s = new Float32Array([0, 0, Math.sin(a), Math.sin(b)]);
  const x = new Float32Array([1, 2, 3, 4]);
  const args = { batch: 1, seq: 1, heads: 1, headDim: 4, rotaryDim: 4, inverse: false };
  const out = new Float32Array(4);
  ref.rope({ x, out, positions: new Int32Array([1]), cos: c, sin: s, ...args, layout: 'halves' }); // pairs (0,2), (1,3)
  const [ca, sa, cb, sb] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b)];
  assertClose(out, [1 * ca - 3 * sa, 2 * cb - 4 * sb, 3 * ca + 1 * sa, 4 * cb + 2 * sb], { dtype: 'f32', what: 'halves' });
  ref.rope({ x, out, positions: new Int32Array([1]), cos: c, sin: s, ...args, layout: 'pairs' }); // pairs (0,1), (2,3)
  assertClose(out, [1 * ca - 2 * sa, 2 * ca + 1 * sa, 3 * cb - 4 * sb, 4 * cb + 3 * sb], { dtype: 'f32', what: 'pairs' });
});

for (const layout of ['halves', 'pairs'] as const) {
  test(`rope ${layout}: inverse undoes it, norms are kept, the tail passes through, position 0 is identity`, () => {
    const x = randn(2 * 3 * 3 * 10, 1);
    const y = apply(x, layout, false);
    assertClose(apply(y, layout, true), x, { dtype: 'f32', what: 'inverse(rope(x))' });
    for (let row = 0; row < x.length / 10; row++) {
      const norm = (v: Float32Array) => Math.hypot(...v.subarray(row * 10, row * 10 + 6));
      assert.ok(Math.abs(norm(y) - norm(x)) < 1e-5, `row ${row} norm changed`);
      assert.deepEqual(y.subarray(row * 10 + 6, row * 10 + 10), x.subarray(row * 10 + 6, row * 10 + 10));
    }
    const t1 = (b: number, h: number) => ((b * 3 + 1) * 3 + h) * 10; // seq index 1 has position 0
    assert.deepEqual(y.subarray(t1(1, 2), t1(1, 2) + 10), x.subarray(t1(1, 2), t1(1, 2) + 10));
  });

  test(`rope ${layout}: the inverse is the backward pass (finite differences)`, () => {
    const x = randn(2 * 3 * 3 * 10, 2);
    const w = randn(x.length, 3);
    checkGradient({
      what: `rope ${layout}`,
      input: x,
      weights: w,
      analytic: apply(w, layout, true),
      forward: () => apply(x, layout, false),
    });
  });

  test(`rope ${layout}: works in place`, () => {
    const x = randn(2 * 3 * 3 * 10, 4);
    const expected = apply(x, layout, false);
    ref.rope({ x, out: x, positions, cos, sin, ...shape, layout, inverse: false });
    assert.deepEqual(x, expected);
  });
}
