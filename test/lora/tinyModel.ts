// A tiny untied Llama on the reference backend, shared by the LoRA tests.
import { referenceBackend } from '../../src/backend/reference/index.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { randomModel } from '../../src/models/load.js';
import { DEFAULT_LORA_CONFIG, type LoraConfig } from '../../src/lora/config.js';
import type { LoraLinear } from '../../src/lora/loraLinear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';

export const be = referenceBackend;

/** d = 16, 2 layers, 4 query heads / 2 kv heads (q_proj [16, 16], k_proj [8, 16]),
 * MLP 24, vocab 32, untied LM head (so 'all-linear' must skip lm_head). */
export const TINY = {
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
};

export function tinyModel(opts: { dtype?: 'f32' | 'bf16'; bias?: boolean; seed?: number } = {}): CausalLM {
  const config = { ...TINY, attention_bias: opts.bias ?? false };
  return randomModel(config, { backend: be, seed: opts.seed ?? 7, dtype: opts.dtype ?? 'f32', std: 0.2 });
}

export function loraConfig(over: Partial<LoraConfig> = {}): LoraConfig {
  return { ...DEFAULT_LORA_CONFIG, r: 4, alpha: 8, ...over };
}

export const ids = (): Tensor => tensor(be, [1, 5, 7, 9, 2, 4, 6, 8], [2, 4], 'i32');
export const targets = (): Tensor => tensor(be, [5, 7, 9, 2, 4, 6, 8, -100], [8], 'i32');

export function logits(model: CausalLM): Float32Array {
  return noGrad(() => model.logits(ids())).f32.slice();
}

/** Give B (zero after init) random values so the adapter changes the model. */
export function randomizeB(layers: readonly LoraLinear[], seed: number, std = 0.3): void {
  layers.forEach((l, i) => l.lora_B.f32.set(randn(l.lora_B.size, seed * 1000 + i).map((v) => v * std)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
