import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { assertClose } from '../../helpers/tolerance.js';

test('adamw: two steps match a hand computation (PyTorch AdamW)', () => {
  const [lr, beta1, beta2, eps, wd] = [0.1, 0.9, 0.99, 1e-8, 0.01];
  const param = new Float32Array([1, -2]);
  const m = new Float32Array(2);
  const v = new Float32Array(2);
  // Step 1: m = 0.1 g, v = 0.01 g^2, so mHat = g and vHat = g^2: the update is lr * sign(g).
  ref.adamw({ param, grad: new Float32Array([0.5, -3]), m, v, lr, beta1, beta2, eps, weightDecay: wd, step: 1 });
  const decay = 1 - lr * wd;
  const p1 = [1 * decay - lr * (0.5 / (0.5 + eps)), -2 * decay + lr * (3 / (3 + eps))];
  assertClose(param, p1, { dtype: 'f32', what: 'param after step 1' });
  assertClose(m, [0.05, -0.3], { dtype: 'f32', what: 'm after step 1' });
  assertClose(v, [0.0025, 0.09], { dtype: 'f32', what: 'v after step 1' });
  // Step 2 with g = [1, 0].
  ref.adamw({ param, grad: new Float32Array([1, 0]), m, v, lr, beta1, beta2, eps, weightDecay: wd, step: 2 });
  const m2 = [0.9 * 0.05 + 0.1 * 1, 0.9 * -0.3];
  const v2 = [0.99 * 0.0025 + 0.01 * 1, 0.99 * 0.09];
  const [c1, c2] = [1 - 0.9 ** 2, 1 - 0.99 ** 2];
  const p2 = p1.map((p, i) => p * decay - (lr * (m2[i] / c1)) / (Math.sqrt(v2[i] / c2) + eps));
  assertClose(m, m2, { dtype: 'f32', what: 'm after step 2' });
  assertClose(v, v2, { dtype: 'f32', what: 'v after step 2' });
  assertClose(param, p2, { dtype: 'f32', what: 'param after step 2' });
});
