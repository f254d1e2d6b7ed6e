import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColaError } from '../../src/errors.js';
import { Linear } from '../../src/nn/linear.js';
import { applyLora, linearModules, loraLayers, mergeAll, mergeAndUnload, trainableCount } from '../../src/lora/inject.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { assertClose } from '../helpers/tolerance.js';
import { ids, logits, loraConfig, maxAbsDiff, randomizeB, targets, tinyModel } from './tinyModel.js';

test('a fresh adapter leaves the logits unchanged', () => {
  const model = tinyModel();
  const base = logits(model);
  applyLora(model, loraConfig({ targets: 'all-linear' }), 1);
  assert.deepEqual(logits(model), base);
});

test('q_proj/v_proj are wrapped in model order with PEFT names', () => {
  const model = tinyModel();
  const layers = applyLora(model, loraConfig(), 1);
  assert.deepEqual(
    loraLayers(model).map(([p]) => p),
    [
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ],
  );
  assert.equal(layers[0], model.getModule('model.layers.0.self_attn.q_proj'));
  const names = model.trainableParameters().map(([n]) => n);
  assert.deepEqual(names.slice(0, 2), ['model.layers.0.self_attn.q_proj.lora_A', 'model.layers.0.self_attn.q_proj.lora_B']);
  assert.ok([...model.namedParameters()].some(([n]) => n === 'model.layers.0.self_attn.q_proj.base_layer.weight'));
});

test('trainable count = sum r (in + out); all-linear skips the LM head', () => {
  const model = tinyModel();
  applyLora(model, loraConfig({ targets: 'all-linear' }), 1);
  const wrapped = loraLayers(model);
  assert.equal(wrapped.length, 2 * 7); // q k v o gate up down per layer
  assert.ok(model.getModule('lm_head') instanceof Linear && !(model.getModule('lm_head') instanceof LoraLinear));
  const want = wrapped.reduce((n, [, l]) => n + 4 * (l.inFeatures + l.outFeatures), 0);
  assert.equal(trainableCount(model), want);
  // d=16: q (16+16), k (16+8), v (16+8), o (16+16), gate/up (16+24), down (24+16)
  assert.equal(want, 2 * 4 * (32 + 24 + 24 + 32 + 40 + 40 + 40));
});

test('trainBias: lora_only trains the wrapped layers biases, all trains every bias', () => {
  const lora = tinyModel({ bias: true });
  applyLora(lora, loraConfig({ targets: ['q_proj'], trainBias: 'lora_only' }), 1);
  const biasNames = (m: typeof lora) =>
    m
      .trainableParameters()
      .map(([n]) => n)
      .filter((n) => n.endsWith('bias'));
  assert.deepEqual(biasNames(lora), ['model.layers.0.self_attn.q_proj.base_layer.bias', 'model.layers.1.self_attn.q_proj.base_layer.bias']);
  const all = tinyModel({ bias: true });
  applyLora(all, loraConfig({ targets: ['q_proj'], trainBias: 'all' }), 1);
  assert.equal(biasNames(all).length, 6); // q, k, v biases in 2 layers
  const everyBias = [...all.namedParameters()].map(([n]) => n).filter((n) => n.endsWith('bias'));
  assert.deepEqual(biasNames(all), everyBias, 'every bias of the model');
});

test('after loss.backward() only A and B have gradients', () => {
  const model = tinyModel();
  const layers = applyLora(model, loraConfig(), 1);
  randomizeB(layers, 1);
  model.loss(ids(), targets()).backward();
  for (const [name, t] of model.namedParameters()) {
    if (/lora_[AB]$/.test(name)) assert.ok(t.grad && t.grad.f32.some((v) => v !== 0), `${name} has a gradient`);
    else assert.equal(t.grad, null, `${name} must get no gradient`);
  }
});

test('merged logits = unmerged logits; mergeAndUnload restores plain Linear layers', () => {
  const model = tinyModel();
  const base = logits(model);
  const layers = applyLora(model, loraConfig({ targets: 'all-linear' }), 2);
  randomizeB(layers, 2);
  const unmerged = logits(model);
  assert.ok(maxAbsDiff(unmerged, base) > 1e-2, 'the adapter must change the logits');
  mergeAll(model);
  assertClose(logits(model), unmerged, { dtype: 'f32', what: 'merged logits' });
  for (const l of layers) l.unmerge();
  assert.deepEqual(logits(model), unmerged);
  mergeAndUnload(model);
  assert.equal(loraLayers(model).length, 0);
  assert.equal(linearModules(model).length, 2 * 7 + 1);
  assertClose(logits(model), unmerged, { dtype: 'f32', what: 'unloaded logits' });
});

test('per-target rank/alpha overrides and rsLoRA scale', () => {
  const model = tinyModel();
  const cfg = loraConfig({
    targets: ['q_proj', 'v_proj'],
    rankPattern: { [String.raw`layers\.1\.self_attn\.q_proj`]: 2, v_proj: 6 },
    alphaPattern: { q_proj: 5 },
  });
  const got = applyLora(model, cfg, 1).map((l) => [l.r, l.alpha, l.scaling]);
  assert.deepEqual(got, [
    [4, 5, 5 / 4],
    [6, 8, 8 / 6],
    [2, 5, 5 / 2],
    [6, 8, 8 / 6],
  ]);
  const rs = applyLora(tinyModel(), loraConfig({ r: 4, alpha: 8, useRslora: true }), 1);
  assert.equal(rs[0]!.scaling, 4);
});

test('errors: no match lists the linear module names; a second applyLora is refused', () => {
  const model = tinyModel();
  assert.throws(
    () => applyLora(model, loraConfig({ targets: ['query', 'value'] }), 1),
    (e: unknown) => e instanceof ColaError && /q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head/.test(e.message),
  );
  applyLora(model, loraConfig(), 1);
  assert.throws(() => applyLora(model, loraConfig(), 1), /already has LoRA layers/);
});

test('bf16 model: merged logits match, unmerge restores every weight bit', () => {
  const model = tinyModel({ dtype: 'bf16' });
  const before = new Map([...model.namedParameters()].map(([n, t]) => [n, t.data.slice()]));
  const layers = applyLora(model, loraConfig({ targets: 'all-linear' }), 4);
  randomizeB(layers, 4, 0.05);
  const unmerged = logits(model);
  mergeAll(model);
  assertClose(logits(model), unmerged, { dtype: 'bf16', what: 'bf16 merged logits' });
  for (const l of layers) l.unmerge();
  mergeAndUnload(model); // merges again without the undo copy, then unwraps
  for (const l of layers) assert.equal(l.merged, true);
  for (const l of layers) l.unmerge();
  for (const [n, t] of model.namedParameters()) assert.deepEqual(t.data, before.get(n), n);
});
