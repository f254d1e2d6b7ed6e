import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

const [rows, cols] = [3, 7];

test('softmax and logSoftmax of one row by hand, stable for huge logits', () => {
  const x = new Float32Array([1, 2, 3, 1001, 1002, 1003]);
  const out = new Float32Array(6);
  ref.softmax(x, out, 2, 3);
  const z = Math.exp(-2) + Math.exp(-1) + 1;
  const expected = [Math.exp(-2) / z, Math.exp(-1) / z, 1 / z];
  assertClose(out, [...expected, ...expected], { dtype: 'f32', what: 'softmax rows' });
  ref.logSoftmax(x, out, 2, 3);
  const logs = expected.map(Math.log);
  assertClose(out, [...logs, ...logs], { dtype: 'f32', what: 'logSoftmax rows' });
});

test('softmax: rows sum to one', () => {
  const x = randn(rows * cols, 1).map((v) => 10 * v);
  const y = new Float32Array(x.length);
  ref.softmax(x, y, rows, cols);
  for (let r = 0; r < rows; r++) {
    const sum = y.subarray(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, `row ${r} sums to ${sum}`);
  }
});

for (const kind of ['softmax', 'logSoftmax'] as const) {
  test(`${kind}Backward: matches finite differences`, () => {
    const x = randn(rows * cols, 2);
    const w = randn(x.length, 3);
    const forward = () => {
      const y = new Float32Array(x.length);
      ref[kind](x, y, rows, cols);
      return y;
    };
    const y = forward();
    const dx = new Float32Array(x.length);
    ref[`${kind}Backward`]({ y, dy: w, dx, rows, cols, accumulate: false });
    checkGradient({ what: kind, input: x, weights: w, analytic: dx, forward });
    const acc = new Float32Array(x.length).fill(2);
    ref[`${kind}Backward`]({ y, dy: w, dx: acc, rows, cols, accumulate: true });
    assertClose(
      acc,
      Array.from(dx, (g) => g + 2),
      { dtype: 'f32', what: `${kind}Backward accumulate` },
    );
  });
}
