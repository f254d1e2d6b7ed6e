// The tiny model, data and run configuration the chain tests share.
import { referenceBackend } from '../../src/backend/reference/index.js';
import { makeRunConfig, type RunConfig } from '../../src/cola/runConfig.js';
import type { RunFlags } from '../../src/cola/runFlags.js';
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

/** The chain tests' run: cola, 3 links of rank 4 (alpha 8), 3 epochs of batch 4. */
export function config(outDir: string, over: Partial<Omit<RunFlags, 'linkRanks'>> & { linkRanks?: number[] } = {}): RunConfig {
  const { linkRanks, ...rest } = over;
  return makeRunConfig(
    {
      method: 'cola',
      out: outDir,
      seed: 3,
      epochs: 3,
      batchSize: 4,
      lr: 1e-2,
      schedule: 'linear',
      maxGradNorm: 1,
      chainLength: rest.method === undefined || rest.method === 'cola' ? 3 : undefined,
      saveEvery: 2,
      saveLinkAdapters: rest.method !== 'full',
      ...rest,
      linkRanks: linkRanks?.map(String),
    },
    {},
    { lora: { r: 4, alpha: 8 } },
  );
}
