// Issue 2's end-to-end check of the engine: a tiny two-layer network
// (Linear -> GELU -> Linear -> cross-entropy) trains with AdamW on both backends.
// The loss falls, and the native backend's gradients match the reference's at
// every step of the same trajectory (the reference backend is the specification).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { loadNativeBackend, nativeLoadError } from '../../src/backend/native/index.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { Linear } from '../../src/nn/linear.js';
import { AdamW } from '../../src/optim/adamw.js';
import { backward } from '../../src/tensor/autograd.js';
import { parameter, tensor } from '../../src/tensor/ops/creation.js';
import { crossEntropy } from '../../src/tensor/ops/crossEntropy.js';
import { gelu } from '../../src/tensor/ops/elementwise.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const N = 32; // examples
const D = 12; // input features
const H = 24; // hidden units
const C = 5; // classes
const STEPS = 60;

const native = loadNativeBackend();

/** A learnable toy task: the label is the argmax of a fixed random projection. */
function toyData(): { x: Float32Array; y: Int32Array } {
  const x = randn(N * D, 1);
  const proj = randn(D * C, 2);
  const y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += x[n * D + d]! * proj[d * C + c]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    y[n] = best;
  }
  return { x, y };
}

interface Trace {
  losses: number[];
  /** gradients of every parameter, flattened, per step */
  grads: Float32Array[][];
}

function trainTwoLayer(backend: Backend): Trace {
  const { x, y } = toyData();
  const scaled = (n: number, seed: number, s: number): Float32Array => randn(n, seed).map((v) => v * s);
  const l1 = new Linear(parameter(backend, scaled(H * D, 3, 1 / Math.sqrt(D)), [H, D]), parameter(backend, new Float32Array(H), [H]));
  const l2 = new Linear(parameter(backend, scaled(C * H, 4, 1 / Math.sqrt(H)), [C, H]), parameter(backend, new Float32Array(C), [C]));
  const params: Tensor[] = [l1.weight, l1.bias!, l2.weight, l2.bias!];
  const opt = new AdamW(params, { lr: 0.02, weightDecay: 0.01 });
  const xs = tensor(backend, x, [N, D]);
  const ys = tensor(backend, y, [N], 'i32');
  const trace: Trace = { losses: [], grads: [] };
  for (let step = 0; step < STEPS; step++) {
    opt.zeroGrad();
    const loss = crossEntropy(l2.forward(gelu(l1.forward(xs))), ys);
    backward(loss);
    trace.losses.push(loss.f32[0]!);
    trace.grads.push(params.map((p) => Float32Array.from(p.grad!.f32)));
    opt.step(0.02);
  }
  return trace;
}

test('two-layer net trains on the reference backend: loss falls', () => {
  const { losses } = trainTwoLayer(referenceBackend);
  assert.ok(losses[0]! > 1.2, `initial loss ${losses[0]} should be near ln(${C})`);
  assert.ok(losses.at(-1)! < 0.25 * losses[0]!, `loss ${losses[0]} -> ${losses.at(-1)} did not fall enough`);
});

test(
  'two-layer net trains on the native backend: loss falls, gradients match the reference at every step',
  { skip: native ? false : `native addon not built (${nativeLoadError()})` },
  () => {
    const want = trainTwoLayer(referenceBackend);
    const got = trainTwoLayer(native!);
    assert.ok(got.losses.at(-1)! < 0.25 * got.losses[0]!, `native loss ${got.losses[0]} -> ${got.losses.at(-1)}`);
    // Same trajectory: f32 rounding differs (blocked matmuls) and compounds over steps,
    // so the tolerance is loose but far below the size of the gradients themselves.
    for (let step = 0; step < STEPS; step += 1) {
      assertClose([got.losses[step]!], [want.losses[step]!], { dtype: 'f32', atol: 1e-4, rtol: 1e-3, what: `loss at step ${step}` });
      got.grads[step]!.forEach((g, i) =>
        assertClose(g, want.grads[step]![i]!, { dtype: 'f32', atol: 1e-4, rtol: 1e-2, what: `step ${step} param ${i} gradient` }),
      );
    }
  },
);
