// The peak-memory estimate of `cola train --dry-run` and `cola info` (issue 16, part 8):
// invariants, not magic numbers: it grows with batch, sequence, rank and vocabulary,
// gradient checkpointing lowers it, full fine-tuning needs more than LoRA, and the parts
// add up to the total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateTrainingMemory, type ModelShape, type TrainingShape } from '../../src/models/memoryEstimate.js';

const layers = 4;
const d = 64;
const names = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const model: ModelShape = {
  modelType: 'llama',
  layers,
  hidden: d,
  heads: 4,
  kvHeads: 2,
  intermediate: 176,
  vocab: 512,
  context: 256,
  parameters: 300_000,
  storedDtype: 'bf16',
  weightBytes: { f32: 1_200_000, bf16: 600_000 },
  matrices: Array.from({ length: layers }, (_, i) => names.map((n) => ({ path: `model.layers.${i}.${n}`, rows: d, cols: d }))).flat(),
  logitSoftcap: false,
  mlpKept: 4,
};
const base: TrainingShape = {
  method: 'lora',
  dtype: 'bf16',
  batch: 4,
  seq: 64,
  rank: 8,
  links: 1,
  targets: ['q_proj', 'v_proj'],
  gradientCheckpointing: false,
};
const total = (o: Partial<TrainingShape>, m: Partial<ModelShape> = {}) =>
  estimateTrainingMemory({ ...model, ...m }, { ...base, ...o }).total;

test('the estimate grows with batch, sequence length, rank, targets and vocabulary', () => {
  for (const [lo, hi] of [
    [{ batch: 1 }, { batch: 8 }],
    [{ seq: 32 }, { seq: 256 }],
    [{ rank: 4 }, { rank: 64 }],
    [{ targets: ['q_proj'] }, { targets: 'all-linear' as const }],
  ] as Partial<TrainingShape>[][])
    assert.ok(total(lo!) < total(hi!), `${JSON.stringify(lo)} < ${JSON.stringify(hi)}`);
  assert.ok(total({}, { vocab: 256 }) < total({}, { vocab: 32000 }));
});

test('gradient checkpointing lowers the activations (more so with more layers); weights and optimizer state are unchanged', () => {
  const plain = estimateTrainingMemory(model, base);
  const ckpt = estimateTrainingMemory(model, { ...base, gradientCheckpointing: true });
  assert.ok(ckpt.activations < plain.activations);
  assert.equal(ckpt.weights, plain.weights);
  assert.equal(ckpt.training, plain.training);
  const deep = { ...model, layers: 32 };
  const saved = (m: ModelShape) =>
    estimateTrainingMemory(m, base).activations / estimateTrainingMemory(m, { ...base, gradientCheckpointing: true }).activations;
  assert.ok(saved(deep) > saved(model));
});

test('full fine-tuning needs more than LoRA, f32 weights more than bf16; the parts add up to the total', () => {
  assert.ok(total({ method: 'full', dtype: 'f32' }) > total({ dtype: 'f32' }));
  assert.ok(total({ dtype: 'f32' }) > total({ dtype: 'bf16' }));
  const e = estimateTrainingMemory(model, { ...base, method: 'cola', links: 3 });
  assert.equal(e.total, e.weights + e.packedCopies + e.training + e.activations + e.logits);
  assert.equal(e.adaptedMatrices, 2 * layers);
  assert.equal(e.trainableParameters, 2 * layers * base.rank * (d + d));
  // a chain keeps its merged links' factors: more links, more memory
  assert.ok(e.training > estimateTrainingMemory(model, base).training);
});
