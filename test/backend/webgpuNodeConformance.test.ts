// The webgpu backend in Node (Dawn's npm package `webgpu`; SwiftShader where there
// is no GPU) against the reference: the same cases the Chromium run uses
// (conformanceSuite.ts, test/browser/webgpuBackendCases.ts). Skips, saying why, when
// the package or an adapter is missing (docs/WEBGPU.md says how to get one). Also:
// the tied f32 LM head kept on the GPU (issue 20), counted by the traffic counter.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import type { Traffic } from '../../src/backend/webgpu/client.js';
import { backward } from '../../src/tensor/autograd.js';
import { parameter, tensor } from '../../src/tensor/ops/creation.js';
import { lmHeadCrossEntropy } from '../../src/tensor/ops/crossEntropy.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/index.js';
import { SHADER_F16 } from '../../src/backend/webgpu/weightStorage.js';
import { createWebGpuNodeBackend } from '../../src/backend/webgpuNode/index.js';
import { ColaError } from '../../src/errors.js';
import { webgpuBackendCases, type F16Setup } from '../browser/webgpuBackendCases.js';
import { conformanceSuite } from './conformanceSuite.js';

let gpu: WebGpuBackend | null = null;
let skip: string | false = false;
try {
  gpu = createWebGpuNodeBackend();
} catch (err) {
  if (!(err instanceof ColaError)) throw err;
  skip = `webgpu in Node unavailable: ${err.message}`;
}

/** What weightStorage 'f16' / 'auto' do on this adapter (the cases are synchronous: set up here). */
function f16Setup(g: WebGpuBackend): F16Setup {
  const setup: F16Setup = { f16: null, refusal: null, auto: { storage: '', note: null } };
  if (g.features.includes(SHADER_F16)) {
    setup.f16 = createWebGpuNodeBackend({ weightStorage: 'f16' });
    return setup;
  }
  try {
    createWebGpuNodeBackend({ weightStorage: 'f16' }).close();
  } catch (err) {
    setup.refusal = (err as Error).message;
  }
  const auto = createWebGpuNodeBackend({ weightStorage: 'auto' });
  setup.auto = { storage: auto.weightStorage, note: auto.weightStorageNote };
  auto.close();
  return setup;
}

conformanceSuite({
  title: `webgpu backend conformance in Node (${gpu?.adapter ?? 'no adapter'})`,
  subject: gpu?.backend ?? null,
  skip,
  checksArguments: false,
  exactDropoutValues: false,
  skipLargeProducts: true,
});

/** Loss and dh of the fused LM head over a frozen f32 head `w` on `be`. */
function headLoss(be: Backend, h: Float32Array, w: Float32Array, ids: number[], dims: { n: number; d: number; v: number }) {
  const hidden = parameter(be, h, [dims.n, dims.d]);
  const loss = lmHeadCrossEntropy(hidden, tensor(be, w, [dims.v, dims.d]), tensor(be, ids, [dims.n], 'i32'));
  backward(loss);
  return [loss.f32.slice(), hidden.grad!.f32.slice()];
}

if (gpu) {
  const setup = f16Setup(gpu);
  webgpuBackendCases(gpu, setup);
  test('the tied f32 LM head is kept on the GPU: a second step sends none of it (traffic counter), same loss and dh', () => {
    const g = gpu!;
    const dims = { n: 6, d: 8, v: 40 };
    const h = randn(dims.n * dims.d, 3001);
    const head = randn(dims.v * dims.d, 3002);
    const ids = [1, 5, 39, 0, 7, 7];
    // one frozen head tensor across steps, as a model holds it
    const w = tensor(g.backend, head, [dims.v, dims.d]);
    const step = () => {
      const hidden = parameter(g.backend, h, [dims.n, dims.d]);
      const loss = lmHeadCrossEntropy(hidden, w, tensor(g.backend, ids, [dims.n], 'i32'));
      backward(loss);
      return [loss.f32.slice(), hidden.grad!.f32.slice()];
    };
    const matmulBytes = (a: Traffic, b: Traffic) => (b.uploadByOp['matmul'] ?? 0) - (a.uploadByOp['matmul'] ?? 0);
    const t0 = g.traffic();
    const first = step();
    const t1 = g.traffic();
    const second = step();
    const t2 = g.traffic();
    const headBytes = 4 * dims.v * dims.d;
    assert.equal(t1.keptBytes - t0.keptBytes, 2 * headBytes, 'the first step uploads the head once a use (forward, input gradient)');
    assert.equal(t2.keptBytes - t1.keptBytes, 0, 'the second step keeps it');
    assert.equal(matmulBytes(t0, t1) - matmulBytes(t1, t2), 2 * headBytes, 'the second step sends the products no head');
    const want = headLoss(ref, h, head, ids, dims);
    for (const got of [first, second]) {
      assertClose(got[0]!, want[0]!, { dtype: 'f32', what: 'loss' });
      assertClose(got[1]!, want[1]!, { dtype: 'f32', what: 'dh', atol: 1e-4 });
    }
  });
  after(() => {
    gpu?.close();
    setup.f16?.close();
  });
} else {
  describe('webgpu kept weights and f16 storage in Node', { skip }, () => {});
}
