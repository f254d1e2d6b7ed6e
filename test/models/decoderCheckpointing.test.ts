// Gradient checkpointing in the shared decoder stack (llama, gemma 2/3, phi3, qwen3):
// each layer keeps only its input and backward recomputes it one sequence at a time
// (or the whole batch for packed rows). The loss and every LoRA gradient must equal
// those of the plain step, on the families' own features: sliding windows shorter than
// the sequence, soft-capped attention and logits, fused qkv / gate_up projections.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { DEFAULT_LORA_CONFIG } from '../../src/lora/config.js';
import { applyLora } from '../../src/lora/inject.js';
import { loadModel } from '../../src/models/load.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { mulberry32 } from '../../src/tensor/random.js';
import { assertClose } from '../helpers/tolerance.js';
import { fixtureConfig, fixturesDir } from './fixtures.js';

const [B, T] = [3, 8]; // longer than every fixture's sliding window (3 or 4)

function idsOf(seed: number, vocab: number, shape: number[]) {
  const rng = mulberry32(seed);
  return tensor(
    be,
    Int32Array.from({ length: B * T }, () => Math.floor(rng() * vocab)),
    shape,
    'i32',
  );
}

/** Loss and LoRA gradients of one step on every linear layer of the blocks. */
function step(name: string, checkpointing: boolean, positions?: Int32Array) {
  const model = loadModel(path.join(fixturesDir, name), { backend: be });
  if (checkpointing) model.enableGradientCheckpointing();
  const lora = applyLora(model, { ...DEFAULT_LORA_CONFIG, r: 2, alpha: 4, targets: 'all-linear' }, 3);
  const params = lora.flatMap((l) => [l.lora_A, l.lora_B]);
  // lora_B starts at zero, which would leave lora_A's gradient zero: move it.
  const rng = mulberry32(5);
  for (const p of params) for (let i = 0; i < p.size; i++) p.f32[i]! += 0.1 * (rng() - 0.5);
  const vocab = fixtureConfig(name)['vocab_size'] as number;
  const loss = model.loss(idsOf(11, vocab, [B, T]), idsOf(12, vocab, [B, T]), positions);
  loss.backward();
  return { loss: loss.item(), grads: params.map((p) => Float32Array.from(p.grad!.f32)) };
}

function assertSameStep(name: string, positions?: Int32Array): void {
  const plain = step(name, false, positions);
  const ckpt = step(name, true, positions);
  assert.ok(plain.grads.length >= 8, `${name}: LoRA on every block linear`);
  assert.equal(ckpt.loss, plain.loss, `${name}: loss`);
  ckpt.grads.forEach((g, i) => {
    assert.ok(
      g.some((x) => x !== 0),
      `${name}: gradient ${i} is not zero`,
    );
    assertClose(g, plain.grads[i]!, { dtype: 'f32', what: `${name}: gradient ${i}` });
  });
}

for (const name of ['llama_tiny', 'qwen3_tiny', 'gemma2_tiny', 'gemma3_tiny', 'phi3_tiny'])
  test(`${name}: gradient checkpointing gives the plain step's loss and LoRA gradients`, () => assertSameStep(name));

test('gemma2_tiny: the same with packed rows (positions restart inside a row)', () => {
  const row = [0, 1, 2, 0, 1, 2, 3, 4];
  assertSameStep(
    'gemma2_tiny',
    Int32Array.from({ length: B * T }, (_, i) => row[i % T]!),
  );
});
