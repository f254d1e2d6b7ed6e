import { ColaError } from '../errors.js';
import type { CausalLM } from './causalLM.js';
import type { WeightSource } from './weightSource.js';

/** One entry per config.json model_type; each family registers itself in its
 * folder's index.ts, so adding a family never edits a central switch. */
export interface ModelFamily {
  /** model_type values this family handles (e.g. llama, mistral, qwen2). */
  modelTypes: string[];
  /** What it is, for `cola models` (e.g. "Llama: RoPE, RMSNorm, SwiGLU, grouped-query attention"). */
  about: string;
  /** The Linear modules of one block by their path inside it, as in the checkpoint
   * (`self_attn.q_proj`): the names `--targets` picks LoRA targets by. */
  blockLinears: string[];
  /** Linear modules outside the blocks, and when they exist (`cola models` prints them). */
  otherLinears?: string;
  /** Build the model, reading every parameter from src. `file` names config.json in errors. */
  build(config: Record<string, unknown>, src: WeightSource, file: string): CausalLM;
  /** Checkpoint keys that are fine to ignore (buffers we recompute, tied copies). */
  ignoredKeys?(config: Record<string, unknown>): RegExp[];
}

const families = new Map<string, ModelFamily>();

export function registerModelFamily(family: ModelFamily): void {
  for (const t of family.modelTypes) families.set(t, family);
}

/** Every registered family, once each, in registration order. */
export function modelFamilies(): ModelFamily[] {
  return [...new Set(families.values())];
}

export function modelFamily(modelType: unknown, file: string): ModelFamily {
  const family = typeof modelType === 'string' ? families.get(modelType) : undefined;
  if (!family) {
    throw new ColaError(
      `${file}: model_type ${JSON.stringify(modelType)} is not supported; supported: ${[...families.keys()].sort().join(', ')}`,
    );
  }
  return family;
}
