/** Load a Hugging Face model folder and its tokenizer in one call. */
import type { Backend } from '../backend/backend.js';
import { getBackend, type BackendName } from '../backend/index.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causalLM.js';
import { loadModel } from '../models/load.js';
import type { WeightDtype } from '../models/weightSource.js';

export interface PretrainedOptions {
  /** 'native' (default when built; env COLA_BACKEND) or 'reference' */
  backend?: BackendName;
  /** frozen weights in memory (default: the checkpoint's precision) */
  dtype?: WeightDtype;
  /** bytes the weights may take in memory (default: the memory available now); checked
   * against the safetensors headers before anything is allocated */
  maxMemory?: number;
}

export interface Pretrained {
  model: CausalLM;
  tokenizer: TextTokenizer;
  backend: Backend;
  dir: string;
}

export function loadPretrained(dir: string, opts: PretrainedOptions = {}): Pretrained {
  const backend = getBackend(opts.backend);
  const model = loadModel(dir, { backend, dtype: opts.dtype, maxMemory: opts.maxMemory });
  return { model, tokenizer: loadTokenizer(dir), backend, dir };
}
