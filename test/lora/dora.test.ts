// DoRA (dora.ts): fresh adapter = base, merged = unmerged, the magnitude's gradient, the
// detached norm, PEFT's own logits (a committed fixture from scripts/make_lora_variant_fixtures.py),
// and the PEFT file layout round trip.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readJsonObject } from '../../src/io/fileIo.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { applyLora, loraLayers, mergeAndUnload } from '../../src/lora/inject.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { loadPeftAdapter, saveLoraAdapter } from '../../src/lora/peft.js';
import { loadModel } from '../../src/models/load.js';
import { Linear } from '../../src/nn/linear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { randn } from '../helpers/random.js';
import { be, logits, loraConfig, maxAbsDiff, randomizeB, tinyModel } from './tinyModel.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = path.join(repoRoot, 'test/fixtures/lora_variants/dora');
const BASE = path.join(repoRoot, 'test/fixtures/models/llama_tiny');
const dir = makeTmpDir('lora-dora');

/** A DoRA layer over a random [out=5, in=6] Linear (with bias) whose A, B and m are all non-trivial. */
function doraLayer(seed = 1): LoraLinear {
  const w = tensor(be, randn(30, seed), [5, 6]);
  const b = tensor(be, randn(5, seed + 1), [5]);
  const l = new LoraLinear(new Linear(w, b), { r: 2, alpha: 4, dropout: 0, useRslora: false, init: 'kaiming', useDora: true, seed });
  l.lora_B.f32.set(randn(10, seed + 2).map((v) => v * 0.5));
  l.lora_magnitude_vector!.f32.forEach((m, i, a) => (a[i] = m * (1 + 0.3 * Math.sin(i + 1))));
  return l;
}

/** y = m * (W + s B A) x / ||W + s B A||_row + b, written out in f64 from the layer's own tensors. */
function reference(l: LoraLinear, x: Float32Array, rows: number): Float64Array {
  const [out, inF, r, s] = [l.outFeatures, l.inFeatures, l.r, l.scaling];
  const W = (l.base_layer as Linear).weight.f32;
  const [A, B, m, b] = [l.lora_A.f32, l.lora_B.f32, l.lora_magnitude_vector!.f32, l.base_layer.bias!.f32];
  const V = new Float64Array(out * inF);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inF; i++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += B[o * r + k]! * A[k * inF + i]!;
      V[o * inF + i] = W[o * inF + i]! + s * d;
    }
  const y = new Float64Array(rows * out);
  for (let o = 0; o < out; o++) {
    let n = 0;
    for (let i = 0; i < inF; i++) n += V[o * inF + i]! ** 2;
    const c = m[o]! / Math.sqrt(n);
    for (let t = 0; t < rows; t++) {
      let dot = 0;
      for (let i = 0; i < inF; i++) dot += V[o * inF + i]! * x[t * inF + i]!;
      y[t * out + o] = c * dot + b[o]!;
    }
  }
  return y;
}

test('a fresh DoRA adapter is the identity: m = ||W||_row, B = 0, the model output is unchanged', () => {
  const plain = tinyModel();
  const model = tinyModel();
  const layers = applyLora(model, loraConfig({ useDora: true }), 3);
  assert.ok(maxAbsDiff(logits(model), logits(plain)) < 1e-6);
  for (const l of layers) {
    const W = (l.base_layer as Linear).weight.f32;
    const m = l.lora_magnitude_vector!.f32;
    assert.equal(m.length, l.outFeatures);
    for (let o = 0; o < l.outFeatures; o++) {
      const row = W.subarray(o * l.inFeatures, (o + 1) * l.inFeatures);
      assert.ok(Math.abs(m[o]! - Math.hypot(...row)) < 1e-5);
    }
  }
  // the magnitude trains: it is a parameter named as PEFT names it
  const names = model.trainableParameters().map(([n]) => n);
  assert.ok(names.includes('model.layers.0.self_attn.q_proj.lora_magnitude_vector'));
});

test('DoRA forward equals m (W + s B A) x / ||W + s B A||_row + b computed by hand', () => {
  const l = doraLayer();
  const x = Float32Array.from(randn(18, 9));
  const y = noGrad(() => l.forward(tensor(be, x, [3, 6]))).f32;
  const want = reference(l, x, 3);
  assert.ok(maxAbsDiff(y, want) < 1e-5, `max diff ${maxAbsDiff(y, want)}`);
});

test('DoRA merged = unmerged (merge folds the whole DoRA weight), and unmerge restores W', () => {
  const l = doraLayer(4);
  const w0 = (l.base_layer as Linear).weight.f32.slice();
  const x = tensor(be, randn(12, 5), [2, 6]);
  const before = noGrad(() => l.forward(x)).f32.slice();
  l.merge();
  const merged = noGrad(() => l.forward(x)).f32.slice();
  assert.ok(maxAbsDiff(before, merged) < 1e-5, `merged vs unmerged ${maxAbsDiff(before, merged)}`);
  l.unmerge();
  assert.deepEqual((l.base_layer as Linear).weight.f32, w0);
  // whole model: mergeAndUnload keeps the logits
  const model = tinyModel();
  const layers = applyLora(model, loraConfig({ useDora: true }), 3);
  randomizeB(layers, 5);
  layers.forEach((ll) => ll.lora_magnitude_vector!.f32.forEach((m, i, a) => (a[i] = m * 1.1)));
  const want = logits(model);
  mergeAndUnload(model);
  assert.ok(maxAbsDiff(logits(model), want) < 1e-5);
});

test('gradients: m by finite differences; A and B as a LoRA with the norm held constant (detached, DoRA sec. 4.3)', () => {
  const l = doraLayer(7);
  const x = tensor(be, randn(12, 8), [2, 6]);
  const g = Float32Array.from(randn(10, 11)); // loss = sum(y * g)
  const gT = tensor(be, g, [2, 5]);
  const loss = () => sum(mul(l.forward(x), gT));
  loss().backward();
  const [gm, gA, gB] = [l.lora_magnitude_vector!.grad!.f32.slice(), l.lora_A.grad!.f32.slice(), l.lora_B.grad!.f32.slice()];
  const m = l.lora_magnitude_vector!.f32;
  for (let o = 0; o < m.length; o++) {
    const h = 1e-2;
    const keep = m[o]!;
    m[o] = keep + h;
    const up = noGrad(loss).item();
    m[o] = keep - h;
    const down = noGrad(loss).item();
    m[o] = keep;
    assert.ok(Math.abs((up - down) / (2 * h) - gm[o]!) < 1e-3, `dL/dm[${o}]`);
  }
  // With c = m / ||W + s B A||_row frozen, y = c (W x + s B A x) + b is a LoRA layer with
  // weight diag(c) W and B' = diag(c) B: its dA equals DoRA's, its dB' = dB / c.
  const c = l.doraFactor()!;
  const [out, inF, r] = [l.outFeatures, l.inFeatures, l.r];
  const Wc = (l.base_layer as Linear).weight.f32.map((w, i) => w * c[Math.floor(i / inF)]!);
  const lin = new LoraLinear(new Linear(tensor(be, Wc, [out, inF]), tensor(be, l.base_layer.bias!.f32.slice(), [out])), {
    r,
    alpha: l.alpha,
    dropout: 0,
    useRslora: false,
    init: 'kaiming',
    seed: 0,
  });
  lin.setAdapter(
    l.lora_A.f32,
    l.lora_B.f32.map((b, i) => b * c[Math.floor(i / r)]!),
    r,
  );
  sum(mul(lin.forward(x), gT)).backward();
  assert.ok(maxAbsDiff(gA, lin.lora_A.grad!.f32) < 1e-5, 'dA');
  const dB = lin.lora_B.grad!.f32.map((d, i) => d * c[Math.floor(i / r)]!);
  assert.ok(maxAbsDiff(gB, dB) < 1e-5, 'dB');
});

test("PEFT's DoRA adapter (fixture written by PEFT 0.21.0) loads and gives PEFT's logits, unmerged and merged", () => {
  const exp = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Record<string, number[] | number[][]>;
  const ids = exp['input_ids'] as number[][];
  const idsT = tensor(be, ids.flat(), [ids.length, ids[0]!.length], 'i32');
  const model = loadModel(BASE, { backend: be, dtype: 'f32' });
  const base = noGrad(() => model.logits(idsT)).f32.slice();
  assert.ok(maxAbsDiff(base, exp['base'] as number[]) < 1e-4, 'the base model agrees with transformers');
  const { config, layers } = loadPeftAdapter(model, FIXTURE);
  assert.equal(config.useDora, true);
  assert.ok(layers.every((l) => l.lora_magnitude_vector !== null));
  const unmerged = noGrad(() => model.logits(idsT)).f32.slice();
  assert.ok(
    maxAbsDiff(unmerged, exp['unmerged'] as number[]) < 1e-4,
    `unmerged vs PEFT ${maxAbsDiff(unmerged, exp['unmerged'] as number[])}`,
  );
  assert.ok(maxAbsDiff(unmerged, base) > 1e-2, 'the adapter changes the logits (the test can fail)');
  mergeAndUnload(model);
  const merged = noGrad(() => model.logits(idsT)).f32.slice();
  assert.ok(maxAbsDiff(merged, exp['merged'] as number[]) < 1e-4, `merged vs PEFT ${maxAbsDiff(merged, exp['merged'] as number[])}`);
});

test('DoRA save -> load round trip: use_dora true, PEFT key lora_magnitude_vector [out], identical logits', () => {
  const model = tinyModel();
  const cfg = loraConfig({ useDora: true });
  const layers = applyLora(model, cfg, 3);
  randomizeB(layers, 2);
  layers.forEach((l) => l.lora_magnitude_vector!.f32.forEach((m, i, a) => (a[i] = m * (1 + 0.05 * i))));
  const want = logits(model);
  const out = path.join(dir, 'roundtrip');
  saveLoraAdapter(out, model, cfg, { baseModel: 'tiny' });
  assert.equal(readJsonObject(path.join(out, 'adapter_config.json')).use_dora, true);
  const st = openSafetensors(path.join(out, 'adapter_model.safetensors'));
  assert.deepEqual(st.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_magnitude_vector')!.shape, [8]);
  const fresh = tinyModel();
  loadPeftAdapter(fresh, out);
  assert.equal(maxAbsDiff(logits(fresh), want), 0);
  assert.equal(loraLayers(fresh).length, 4);
});

test('bf16 base weights: a fresh DoRA adapter is the identity and merged = unmerged (merge in the f32 master)', () => {
  const plain = tinyModel({ dtype: 'bf16' });
  const model = tinyModel({ dtype: 'bf16' });
  const layers = applyLora(model, loraConfig({ useDora: true }), 3);
  assert.ok(maxAbsDiff(logits(model), logits(plain)) < 1e-5);
  randomizeB(layers, 5);
  const want = logits(model);
  mergeAndUnload(model);
  assert.ok(maxAbsDiff(logits(model), want) < 0.02, 'merged within bf16 rounding of the weights');
});
