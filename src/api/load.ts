/** Load a Hugging Face model folder and its tokenizer in one call. */
import type { Backend } from '../backend/backend.js';
import type { ComputeRequest } from '../backend/computePath.js';
import { getBackend, type BackendName } from '../backend/index.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { configureRuntime } from '../backend/runtime.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causalLM.js';
import { loadModel } from '../models/load.js';
import { doubleQuantizeModel, quantizeModel } from '../models/quantize.js';
import type { WeightDtype } from '../models/weightSource.js';
import { ColaError } from '../errors.js';

export interface PretrainedOptions {
  /** 'native' (default when built; env COLA_BACKEND) or 'reference' */
  backend?: BackendName;
  /** frozen weights in memory (default: the checkpoint's precision) */
  dtype?: WeightDtype;
  /** bytes the weights may take in memory (default: the memory available now); checked
   * against the safetensors headers before anything is allocated */
  maxMemory?: number;
  /** products with bf16-stored weights: 'auto' (default: bf16 where the CPU has bf16 hardware, else f32), 'f32' or 'bf16'; process-wide */
  compute?: ComputeRequest;
  /** quantize the frozen linear weights as they load (issue 17): 'int8', 'nf4', 'q8_0' or
   * 'q4_0'; embeddings, norms and the LM head stay in `dtype` */
  quantize?: QuantFormat;
  /** with quantize 'nf4': QLoRA's double quantization of the block scales (bitsandbytes'
   * bnb_4bit_use_double_quant) */
  doubleQuant?: boolean;
  /** with quantize: load dense first and keep each quantized layer's dense weight until a
   * LoftQ init (--lora-init loftq, lora/loftq.ts) re-chooses its codes */
  keepDense?: boolean;
}

export interface Pretrained {
  model: CausalLM;
  tokenizer: TextTokenizer;
  backend: Backend;
  dir: string;
}

export function loadPretrained(dir: string, opts: PretrainedOptions = {}): Pretrained {
  if (opts.compute !== undefined) configureRuntime({ compute: opts.compute });
  const backend = getBackend(opts.backend);
  if (opts.doubleQuant && opts.quantize !== 'nf4')
    throw new ColaError(
      `loadPretrained: doubleQuant quantizes nf4's block scales: it needs quantize: 'nf4'${opts.quantize ? `, not '${opts.quantize}'` : ''} (or drop doubleQuant)`,
    );
  const keepDense = opts.keepDense === true && opts.quantize !== undefined;
  const quantize = keepDense ? undefined : opts.quantize;
  const model = loadModel(dir, { backend, dtype: opts.dtype, maxMemory: opts.maxMemory, quantize });
  if (opts.quantize) quantizeModel(model, opts.quantize, keepDense); // linear layers not built by linearFrom (GPT-2's Conv1D)
  if (opts.doubleQuant) doubleQuantizeModel(model);
  return { model, tokenizer: loadTokenizer(dir), backend, dir };
}
