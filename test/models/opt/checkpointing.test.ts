// Gradient checkpointing in OPT (issue #7): segments of layers keep only their
// inputs, and backward recomputes them a slice of sequences at a time. Whatever the
// segment and slice sizes, the loss and every LoRA gradient must equal those of
// the plain step (up to the rounding of summing parameter gradients per slice).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { DEFAULT_LORA_CONFIG } from '../../../src/lora/config.js';
import { applyLora } from '../../../src/lora/inject.js';
import '../../../src/models/families.js';
import { modelFamily } from '../../../src/models/registry.js';
import { RandomWeights } from '../../../src/models/weightSource.js';
import type { OPTForCausalLM } from '../../../src/models/opt/model.js';
import { tensor } from '../../../src/tensor/ops/creation.js';
import { mulberry32 } from '../../../src/tensor/random.js';
import { assertClose } from '../../helpers/tolerance.js';

const [B, T, V] = [3, 5, 37];
const config = {
  model_type: 'opt',
  vocab_size: V,
  hidden_size: 16,
  word_embed_proj_dim: 16,
  ffn_dim: 24,
  num_hidden_layers: 5,
  num_attention_heads: 4,
  max_position_embeddings: 16,
  activation_function: 'relu',
  do_layer_norm_before: true,
  enable_bias: true,
};

function ids(seed: number, shape: number[]) {
  const rng = mulberry32(seed);
  return tensor(
    ref,
    Int32Array.from({ length: B * T }, () => Math.floor(rng() * V)),
    shape,
    'i32',
  );
}

/** Loss and LoRA gradients of one step; fc1 is a target so the MLP's fused path
 * is not the only one exercised. */
function step(setup?: (m: OPTForCausalLM) => void) {
  const model = modelFamily('opt', 'test').build(config, new RandomWeights(ref, 7, 'f32', 0.3), 'test') as OPTForCausalLM;
  setup?.(model);
  const lora = applyLora(model, { ...DEFAULT_LORA_CONFIG, r: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'fc1'] }, 3);
  const params = lora.flatMap((l) => [l.lora_A, l.lora_B]);
  // lora_B starts at zero, which would leave lora_A's gradient zero: move it.
  const rng = mulberry32(5);
  for (const p of params) for (let i = 0; i < p.size; i++) p.f32[i]! += 0.1 * (rng() - 0.5);
  const loss = model.loss(ids(11, [B, T]), ids(12, [B * T]));
  loss.backward();
  return { loss: loss.item(), grads: params.map((p) => Float32Array.from(p.grad!.f32)) };
}

test('OPT gradient checkpointing: same loss and LoRA gradients for any segment and slice size', () => {
  const plain = step();
  const cases: [segment: number, sliceRows: number][] = [
    [1, 1000], // one layer per segment, whole batch per slice
    [2, T], // segments of 2 (the last one short), one sequence per slice
    [3, 2 * T], // slices of 2 sequences, the last one short
    [5, 1], // one segment for all layers; fewer rows than a sequence still slices whole sequences
  ];
  for (const [segment, sliceRows] of cases) {
    const ckpt = step((m) => {
      m.gradientCheckpointing = true;
      m.checkpointSegmentLayers = segment;
      m.checkpointSliceRows = sliceRows;
    });
    const what = `segment ${segment}, slice rows ${sliceRows}`;
    assert.equal(ckpt.loss, plain.loss, `${what}: loss`);
    ckpt.grads.forEach((g, i) => assertClose(g, plain.grads[i]!, { dtype: 'f32', what: `${what}: gradient ${i}` }));
  }
});
