// PiSSA / OLoRA (weightInit.ts): base + adapter = the original model at init, the factors
// agree with PEFT's (committed fixture from scripts/make_lora_variant_fixtures.py), and a
// saved adapter is converted to a plain LoRA of the ORIGINAL weights.
import type { Linear } from '../../src/nn/linear.js';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ColaError } from '../../src/errors.js';
import { readJsonObject } from '../../src/io/fileIo.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { parsePeftConfig } from '../../src/lora/peftConfig.js';
import { applyLora, loraLayers } from '../../src/lora/inject.js';
import { loadPeftAdapter, saveLoraAdapter } from '../../src/lora/peft.js';
import { pissaFactors, topSvd } from '../../src/lora/weightInit.js';
import { loadModel } from '../../src/models/load.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { randn } from '../helpers/random.js';
import { be, logits, loraConfig, maxAbsDiff, randomizeB, tinyModel } from './tinyModel.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = path.join(repoRoot, 'test/fixtures/lora_variants/weight_init.safetensors');
const BASE = path.join(repoRoot, 'test/fixtures/models/llama_tiny');
const dir = makeTmpDir('lora-weight-init');
const INITS = ['pissa', 'pissa_niter_4', 'olora'] as const;

/** s B A of a layer, f64 [out, in] */
function product(A: ArrayLike<number>, B: ArrayLike<number>, r: number, out: number, inF: number, s: number): Float64Array {
  const d = new Float64Array(out * inF);
  for (let o = 0; o < out; o++)
    for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) d[o * inF + i] += s * B[o * r + k]! * A[k * inF + i]!;
  return d;
}

for (const init of INITS) {
  test(`${init}: base (residual) + adapter = the original weight and model output at init`, () => {
    const plain = tinyModel();
    const original = new Map(plain.namedParameters());
    const model = tinyModel();
    const layers = applyLora(model, loraConfig({ init, targets: 'all-linear' }), 3);
    assert.ok(maxAbsDiff(logits(model), logits(plain)) < 1e-5);
    for (const [p, l] of loraLayers(model)) {
      const [out, inF] = [l.outFeatures, l.inFeatures];
      const d = product(l.lora_A.f32, l.lora_B.f32, l.r, out, inF, l.scaling);
      const W = original.get(`${p}.weight`)!.f32;
      const res = (l.base_layer as Linear).weight.f32;
      assert.ok(
        maxAbsDiff(
          res.map((x, i) => x + d[i]!),
          W,
        ) < 1e-6,
        `${p}: residual + s B A = W`,
      );
      assert.ok(maxAbsDiff(res, W) > 1e-2, `${p}: the base was replaced by the residual`);
    }
    assert.equal(layers[0]!.initFactors !== null, true);
  });
}

test('pissa: s B A is the best rank-r approximation (residual energy = the tail singular values)', () => {
  const [out, inF, r] = [7, 9, 3];
  const weight = Float32Array.from(randn(out * inF, 4));
  const full = topSvd({ weight, out, inF, r: Math.min(out, inF), scale: 1, seed: 1 });
  const { A, B } = pissaFactors({ weight, out, inF, r, scale: 2, seed: 1 });
  const d = product(A, B, r, out, inF, 2);
  let resid = 0;
  for (let i = 0; i < d.length; i++) resid += (weight[i]! - d[i]!) ** 2;
  let tail = 0;
  for (let i = r; i < full.S.length; i++) tail += full.S[i]! ** 2;
  assert.ok(Math.abs(resid - tail) < 1e-6 * tail, `||W - sBA||^2 ${resid} vs sum of tail S^2 ${tail}`);
  // A's rows are orthogonal with ||a_i||^2 = S_i / s (PEFT: A = diag(sqrt(S_r / s)) V_r^T)
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let dot = 0;
      for (let c = 0; c < inF; c++) dot += A[i * inF + c]! * A[j * inF + c]!;
      assert.ok(Math.abs(dot - (i === j ? full.S[i]! / 2 : 0)) < 1e-5, `A A^T [${i},${j}]`);
    }
});

/** Q [n, n] orthogonal: Gram-Schmidt of a Gaussian matrix's columns (row-major). */
function orthogonal(n: number, seed: number): Float64Array {
  const Q = Float64Array.from(randn(n * n, seed));
  for (let c = 0; c < n; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += Q[i * n + p]! * Q[i * n + c]!;
      for (let i = 0; i < n; i++) Q[i * n + c] -= dot * Q[i * n + p]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += Q[i * n + c]! ** 2;
    for (let i = 0; i < n; i++) Q[i * n + c] /= Math.sqrt(norm);
  }
  return Q;
}

test('the exact top-r SVD on a flat spectrum (a quantization error): converges well before its cap, to the known U_r S_r V_r^T', () => {
  // W = U diag(S) V^T with S_i = 0.97^i: S_8 / S_9 = 0.97 (LoftQ's errors on stories3M: ~0.99)
  const [out, inF, r] = [48, 40, 8];
  const U = orthogonal(out, 11);
  const V = orthogonal(inF, 12);
  const S = Array.from({ length: inF }, (_, i) => 0.97 ** i);
  const weight = new Float32Array(out * inF);
  const want = new Float64Array(out * inF); // U_r S_r V_r^T, from the f32 W's own SVD below
  for (let o = 0; o < out; o++)
    for (let c = 0; c < inF; c++) {
      let x = 0;
      for (let i = 0; i < inF; i++) x += U[o * out + i]! * S[i]! * V[c * inF + i]!;
      weight[o * inF + c] = x;
    }
  // the reference: the full SVD (k = min(out, in): no iteration), whose first r triplets are exact
  const full = topSvd({ weight, out, inF, r: inF, scale: 1, seed: 3 });
  for (let o = 0; o < out; o++)
    for (let c = 0; c < inF; c++)
      for (let i = 0; i < r; i++) want[o * inF + c] += full.U[o * full.k + i]! * full.S[i]! * full.Vt[i * inF + c]!;
  const top = topSvd({ weight, out, inF, r, scale: 1, seed: 3 });
  // 47 here; waiting for each column of the basis to settle (before session 13) took 238
  assert.ok(top.iterations < 100, `${top.iterations} iterations`);
  const got = new Float64Array(out * inF);
  for (let o = 0; o < out; o++)
    for (let c = 0; c < inF; c++) for (let i = 0; i < r; i++) got[o * inF + c] += top.U[o * top.k + i]! * top.S[i]! * top.Vt[i * inF + c]!;
  assert.ok(maxAbsDiff(got, want) < 1e-10, `U_r S_r V_r^T differs from the full SVD's by ${maxAbsDiff(got, want)}`);
  for (let i = 0; i < r; i++) assert.ok(Math.abs(top.S[i]! - full.S[i]!) < 1e-12, `S_${i}`);
});

test("PEFT's PiSSA and OLoRA on llama_tiny (fixture from PEFT 0.21.0): same residual and s B A; OLoRA also the same A and B", () => {
  const st = openSafetensors(FIXTURE);
  for (const init of ['pissa', 'olora'] as const) {
    const model = loadModel(BASE, { backend: be, dtype: 'f32' });
    applyLora(model, loraConfig({ init, r: 4, alpha: 8 }), 0);
    for (const [p, l] of loraLayers(model)) {
      const key = `${init}.${p}`;
      const d = product(l.lora_A.f32, l.lora_B.f32, l.r, l.outFeatures, l.inFeatures, l.scaling);
      assert.ok(maxAbsDiff((l.base_layer as Linear).weight.f32, st.read(`${key}.residual`)) < 1e-5, `${key} residual`);
      assert.ok(maxAbsDiff(d, st.read(`${key}.delta`)) < 1e-5, `${key} s B A`);
      if (init === 'olora') {
        // QR is unique once R's diagonal signs are fixed (LAPACK's convention, as torch)
        assert.ok(maxAbsDiff(l.lora_A.f32, st.read(`${key}.lora_A`)) < 1e-5, `${key} A`);
        assert.ok(maxAbsDiff(l.lora_B.f32, st.read(`${key}.lora_B`)) < 1e-5, `${key} B`);
      }
    }
  }
});

for (const init of ['pissa', 'olora'] as const) {
  test(`${init}: a saved adapter is a plain LoRA of the ORIGINAL weights (rank 2r: [A; A0], [B, -B0]) that reproduces the model`, () => {
    const model = tinyModel();
    const cfg = loraConfig({ init });
    const layers = applyLora(model, cfg, 3);
    randomizeB(layers, 4, 0.1); // "training"
    const want = logits(model);
    const out = path.join(dir, init);
    saveLoraAdapter(out, model, cfg, { baseModel: 'tiny' });
    const json = readJsonObject(path.join(out, 'adapter_config.json'));
    assert.equal(json.init_lora_weights, true, 'PEFT must not redo the init on load');
    assert.equal(json.r, 2 * cfg.r);
    const fresh = tinyModel(); // the original weights
    loadPeftAdapter(fresh, out);
    assert.ok(maxAbsDiff(logits(fresh), want) < 1e-5, `${maxAbsDiff(logits(fresh), want)}`);
  });
}

test('r above min(out, in) is refused for a weight-derived init; pissa_niter_N adapters from PEFT are refused with the fix', () => {
  assert.throws(
    () => applyLora(tinyModel(), loraConfig({ init: 'olora', r: 9, targets: ['k_proj'] }), 0),
    (e: Error) => {
      return e instanceof ColaError && /r <= min\(out, in\) = 8/.test(e.message);
    },
  );
  const raw = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'], init_lora_weights: 'pissa_niter_4' };
  assert.throws(() => parsePeftConfig(raw, 'adapter_config.json'), /path_initial_model_for_weight_conversion/);
  assert.equal(parsePeftConfig({ ...raw, init_lora_weights: 'olora' }, 'x').init, 'olora');
});

test('bf16 base weights: PiSSA computes from the f32 view and leaves a bf16 residual; base + adapter stays near the model', () => {
  const plain = tinyModel({ dtype: 'bf16' });
  const model = tinyModel({ dtype: 'bf16' });
  applyLora(model, loraConfig({ init: 'pissa' }), 3);
  assert.equal((loraLayers(model)[0]![1].base_layer as Linear).weight.dtype, 'bf16');
  assert.ok(maxAbsDiff(logits(model), logits(plain)) < 0.02, 'within bf16 rounding of the residual (PEFT rounds it too)');
});
