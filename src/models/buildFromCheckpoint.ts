// The last step of every loader (a model folder, a GGUF file, a llama2.c file): the
// family builds its modules from the file's tensor reader, and the model records how
// its frozen weights are held (dtype, quantization) for the run record and exports.

import type { Backend } from '../backend/backend.js';
import type { QuantFormat } from '../backend/quant/format.js';
import type { CausalLM } from './causalLM.js';
import type { ModelFamily } from './registry.js';
import { CheckpointWeights, type TensorReader, type WeightDtype } from './weightSource.js';

export interface CheckpointBuild {
  family: ModelFamily;
  /** the model's config (config.json, or what a GGUF / llama2.c header maps to) */
  config: Record<string, unknown>;
  reader: TensorReader;
  dtype: WeightDtype;
  backend: Backend;
  quantize?: QuantFormat;
  /** the file named in the family's errors */
  origin: string;
}

/** Builds the model from the reader; every tensor of the file must be used or ignored by the family. */
export function buildFromCheckpoint(b: CheckpointBuild): CausalLM {
  const src = new CheckpointWeights(b.backend, b.reader, b.dtype, b.family.ignoredKeys?.(b.config) ?? []);
  src.quantize = b.quantize;
  const model = b.family.build(b.config, src, b.origin);
  src.finish();
  model.weightDtype = b.dtype;
  model.quantizeOnLoad = b.quantize;
  return model;
}
