// Cases of the webgpu backend beyond the shared conformance table (run in Chromium by
// conformanceWorker.ts): frozen weights kept on the GPU are uploaded once (counted by
// the client's traffic counters), and the f16 storage of kept weights (weightStorage)
// where the adapter has shader-f16 — refused with the feature's name where it has not.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { quantize } from '../../src/backend/quant/codec.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/index.js';
import { SHADER_F16 } from '../../src/backend/webgpu/weightStorage.js';
import { floatToHalf, halfToFloat } from '../../src/io/floatBits.js';
import { matmulArgs } from '../helpers/matmulArgs.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

export interface F16Setup {
  /** a backend made with weightStorage 'f16' (null: the adapter lacks shader-f16) */
  f16: WebGpuBackend | null;
  /** what asking for 'f16' did on an adapter without it (the error message), or null */
  refusal: string | null;
  /** weightStorage / note of a backend made with 'auto' */
  auto: { storage: string; note: string | null };
}

/** out = A [m, k] @ B [k, n] on `be`, B passed as packed handle when `handle` is given. */
function product(be: Backend, a: Float32Array, b: Float32Array, m: number, n: number, k: number, handle?: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  be.matmul(matmulArgs({ a, b, c, m, n, k, bPacked: handle ?? null }));
  return c;
}

export function webgpuBackendCases(gpu: WebGpuBackend, setup: F16Setup): void {
  const be = gpu.backend;
  describe('webgpu kept weights', () => {
    it('a packed B is uploaded once: later products send A only, and match the reference', () => {
      const [m, n, k] = [5, 33, 70];
      const a = randn(m * k, 2001);
      const b = randn(k * n, 2002);
      const handle = be.packMatmulB!(b, k, n, false) as Float32Array;
      const want = product(ref, a, b, m, n, k);
      const t0 = gpu.traffic();
      const first = product(be, a, b, m, n, k, handle);
      const t1 = gpu.traffic();
      const second = product(be, a, b, m, n, k, handle);
      const t2 = gpu.traffic();
      assert.equal(t1.keptBytes - t0.keptBytes, 4 * k * n, 'the first product uploads B once, as a kept buffer');
      assert.equal(t2.keptBytes - t1.keptBytes, 0, 'the second product re-uploads nothing kept');
      assert.equal(t2.uploadBytes - t1.uploadBytes, 4 * m * k, 'the second product sends A only');
      assertClose(first, want, { dtype: 'f32', what: 'first product with the kept B' });
      assertClose(second, want, { dtype: 'f32', what: 'second product with the kept B' });
      // a handle of another array is only a hint: the plain path runs on the B given
      const other = randn(k * n, 2003);
      assertClose(product(be, a, other, m, n, k, handle), product(ref, a, other, m, n, k), { dtype: 'f32', what: 'B not the packed one' });
    });

    it('a quantized weight is uploaded once: later products send x only', () => {
      const w = quantize(randn(40 * 96, 2004), 40, 96, 'q4_0');
      const x = randn(3 * 96, 2005);
      const run = (b: Backend) => {
        const out = new Float32Array(3 * 40);
        b.quantMatmul({ x, w, out, m: 3, mode: 'forward', beta: 0 });
        return out;
      };
      const want = run(ref);
      const t0 = gpu.traffic();
      assertClose(run(be), want, { dtype: 'f32', what: 'q4_0 first product', atol: 1e-4 });
      const t1 = gpu.traffic();
      assertClose(run(be), want, { dtype: 'f32', what: 'q4_0 second product', atol: 1e-4 });
      const t2 = gpu.traffic();
      assert.equal(t1.keptBytes - t0.keptBytes, 4 * Math.ceil(w.data.length / 4), 'codes uploaded once (q4_0 keeps its scales inline)');
      assert.equal(t2.uploadBytes - t1.uploadBytes, 4 * x.length, 'the second product sends x only');
    });
  });

  describe('webgpu f16 storage of kept weights', () => {
    it(
      `weightStorage 'f16' without ${SHADER_F16} is refused, naming the feature; 'auto' falls back to f32 and says why`,
      { skip: setup.f16 !== null && `the adapter has ${SHADER_F16}: nothing to refuse` },
      () => {
        // (the browser's assert shim has no match())
        const refusal = setup.refusal ?? 'not refused';
        assert.ok(refusal.includes(`needs the adapter feature ${SHADER_F16}`), refusal);
        assert.equal(setup.auto.storage, 'f32');
        assert.ok((setup.auto.note ?? '').includes(`lacks ${SHADER_F16}`), String(setup.auto.note));
      },
    );

    it(
      'a B kept as f16: the product of f16-rounded weights accumulated in f32, half the upload',
      { skip: setup.f16 === null && `the adapter (${gpu.adapter}) lacks the WebGPU feature ${SHADER_F16}: f16 storage not tested here` },
      () => {
        const f16 = setup.f16!;
        const [m, n, k] = [7, 65, 33];
        const a = randn(m * k, 2006);
        const b = randn(k * n, 2007);
        const rounded = b.map((v) => halfToFloat(floatToHalf(v)));
        const t0 = f16.traffic();
        const got = product(f16.backend, a, b, m, n, k, f16.backend.packMatmulB!(b, k, n, false) as Float32Array);
        const t1 = f16.traffic();
        assert.equal(t1.keptBytes - t0.keptBytes, 4 * Math.ceil((k * n) / 2), 'two halves a word');
        assertClose(got, product(ref, a, rounded, m, n, k), { dtype: 'f32', what: 'f16-kept B vs the reference on f16-rounded B' });
      },
    );
  });
}
