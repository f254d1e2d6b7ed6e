// The bench's random weights with --quantize (issue 17): block linear weights are made in
// one reused f32 buffer and quantized layer by layer, so a 7B-shaped model never exists
// dense. The invariants: every block linear ends up quantized and no parameter views the
// shared buffer (releaseScratch checks it, and refuses a model that kept one dense).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { BenchWeights } from '../../src/bench/benchWeights.js';
import { llamaConfig } from '../../src/bench/trainStep.js';
import { modelFamily } from '../../src/models/registry.js';
import '../../src/models/families.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';

const shape = { family: 'llama' as const, d: 64, layers: 2, heads: 2, ffn: 96, vocab: 40 };

test('BenchWeights --quantize: every block linear quantized, distinct weights, the scratch released', () => {
  const src = new BenchWeights(be, 1, 'bf16', 'nf4');
  const model = modelFamily('llama', 'bench').build(llamaConfig(shape, 16), src, 'bench');
  src.releaseScratch(model);
  const quantized = [...model.namedModules()].filter(([, m]) => m instanceof QuantizedLinear) as [string, QuantizedLinear][];
  assert.equal(quantized.length, 2 * 7); // q, k, v, o, gate, up, down per layer
  const dense = [...model.namedModules()].filter(([, m]) => m instanceof Linear).map(([p]) => p);
  assert.deepEqual(dense, ['lm_head']); // the head stays in the storage dtype
  // each layer got its own values although they were made in the same buffer
  const q0 = quantized.find(([p]) => p.endsWith('layers.0.self_attn.q_proj'))![1].weight;
  const q1 = quantized.find(([p]) => p.endsWith('layers.1.self_attn.q_proj'))![1].weight;
  assert.notDeepEqual(q0.data, q1.data);
});

test('BenchWeights.releaseScratch refuses a model that kept a weight made in the scratch dense', () => {
  const src = new BenchWeights(be, 1, 'f32', 'int8');
  const holder = new (class extends Module {
    lin = new Linear(src.get('model.layers.0.mlp.up_proj.weight', [8, 8], 'matrix')!, null);
  })();
  assert.throws(() => src.releaseScratch(holder), /lin\.weight kept the shared scratch of weights to quantize/);
});
