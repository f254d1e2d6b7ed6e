// The tiny model, data and run configuration the chain tests share.
import { referenceBackend } from '../../src/backend/reference/index.js';
import type { RunConfig } from '../../src/cola/run.js';
import { DEFAULT_LORA_CONFIG } from '../../src/lora/config.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { randomModel } from '../../src/models/load.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';

export const be = referenceBackend;
export const CONFIG = {
  model_type: 'llama',
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  tie_word_embeddings: true,
};
export const model = (): CausalLM => randomModel(CONFIG, { backend: be, seed: 7 });
export const ids = tensor(be, [1, 5, 7, 9, 2, 4, 6, 8], [2, 4], 'i32');
export const logitsOf = (m: CausalLM): Float32Array => noGrad(() => m.logits(ids).f32.slice());

export function examples(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const ids = [1, ...Array.from({ length: 6 }, (_, t) => 3 + ((i * 7 + t * 3) % 30))];
    return { ids, lossMask: ids.map((_, t) => (t === 0 ? 0 : 1)), text: '' };
  });
}

export function config(outDir: string, over: Partial<RunConfig> = {}): RunConfig {
  return {
    method: 'cola',
    outDir,
    seed: 3,
    epochs: 3,
    batchSize: 4,
    gradAccum: 1,
    lr: 1e-2,
    schedule: 'linear',
    warmupSteps: 0,
    weightDecay: 0,
    maxGradNorm: 1,
    chainLength: 3,
    chainSchedule: 'continue',
    rewarmupSteps: 2,
    optimizerReset: 'full',
    lora: { ...DEFAULT_LORA_CONFIG, r: 4, alpha: 8 },
    evalEvery: 0,
    saveEvery: 2,
    saveLinkAdapters: true,
    resume: false,
    ...over,
  };
}
