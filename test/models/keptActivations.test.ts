// What a decoder's training graph keeps for backward (session 12): the heads are read in
// place (no head-major copies), RoPE rotates q and k over the projections' outputs, and
// the gated MLP keeps gate and up, not act(gate). Each of these was a [tokens, d] or
// [tokens, intermediate] tensor per block (~4.7 GB per 1024 tokens at Llama-2-7B's shape).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { DEFAULT_LORA_CONFIG } from '../../src/lora/config.js';
import { applyLora } from '../../src/lora/inject.js';
import { loadModel } from '../../src/models/load.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { fixturesDir } from './fixtures.js';

/** The op names of every node between the loss and the leaves. */
function opsOf(loss: Tensor): Set<string> {
  const ops = new Set<string>();
  const seen = new Set<Tensor>();
  const stack = [loss];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (!t.gradFn) continue;
    ops.add(t.gradFn.name);
    stack.push(...t.gradFn.inputs);
  }
  return ops;
}

for (const name of ['llama_tiny', 'qwen3_tiny', 'gemma3_tiny', 'phi3_tiny']) {
  test(`${name}: training keeps no head-major, rotated or activated copies`, () => {
    const model = loadModel(path.join(fixturesDir, name), { backend: be });
    applyLora(model, { ...DEFAULT_LORA_CONFIG, r: 2, alpha: 4, targets: 'all-linear' }, 3);
    const ids = tensor(
      be,
      Int32Array.from({ length: 16 }, (_, i) => (i * 5) % 40),
      [2, 8],
      'i32',
    );
    const ops = opsOf(model.loss(ids, ids));
    for (const op of ['attention', 'ropeInPlace', 'gatedActivation']) assert.ok(ops.has(op), `${name}: ${op} in the graph`);
    for (const op of ['permute', 'rope', 'silu', 'gelu_tanh', 'mul'])
      assert.ok(!ops.has(op), `${name}: the graph holds a ${op} copy (${[...ops].sort().join(', ')})`);
  });
}
