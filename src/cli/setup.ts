import * as fs from 'node:fs';
import type { Backend } from '../backend/backend.js';
import type { ComputeRequest } from '../backend/computePath.js';
import { getBackend, type BackendName } from '../backend/index.js';
import { checkCompute, configureRuntime } from '../backend/runtime.js';
import { ColaError } from '../errors.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { QUANT_FORMATS, type QuantFormat } from '../backend/quant/format.js';
import type { CausalLM } from '../models/causalLM.js';
import { doubleQuantizeModel, quantizeModel } from '../models/quantize.js';
import { loadModel } from '../models/load.js';
import { quantizeCalibrated } from '../api/calibratedBase.js';
import type { PreparedData } from '../train/prepare.js';
import type { CalibrationReport as LayerReport } from '../models/calibrate.js';
import type { OptionSpecs, OptionValues } from './options.js';

/** What --quantize-calibration did: layers, tokens, and the seconds it took. */
export interface CalibrationReport extends LayerReport {
  seconds: number;
}

/** --max-memory: what a model load may allocate, checked against the headers first. */
export const maxMemoryOption: OptionSpecs = {
  'max-memory': {
    type: 'string',
    meta: 'BYTES',
    help: 'most memory the weights may take, e.g. 8G, 512M (default: the memory available now)',
  },
};

/** `8G`, `512M`, `1.5GiB`, `4096` -> bytes (K/M/G/T are powers of 1024). */
export function parseByteSize(text: string, flag = '--max-memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  const power = m?.[2] ? 'KMGT'.indexOf(m[2].toUpperCase()) + 1 : 0;
  const n = m ? Number(m[1]) * 1024 ** power : NaN;
  if (!m || !Number.isFinite(n) || n <= 0)
    throw new ColaError(`${flag}: expected a size in bytes with an optional suffix K, M, G or T (e.g. 8G, 512M), got "${text}"`);
  return Math.floor(n);
}

export function maxMemoryOf(v: OptionValues): number | undefined {
  const s = v['max-memory'] as string | undefined;
  return s === undefined ? undefined : parseByteSize(s);
}

/** Flags every model-using command shares. */
export const modelOptions: OptionSpecs = {
  compute: {
    type: 'string',
    choices: ['auto', 'f32', 'bf16'],
    help: 'arithmetic of products with bf16-stored weights: auto (default) = bf16 where the CPU has AVX512_BF16/AMX, else f32 (env COLA_COMPUTE)',
  },
  threads: { type: 'int', meta: 'N', help: 'kernel threads (default: OMP_NUM_THREADS, else the cores this process may use)' },
  model: {
    type: 'string',
    meta: 'DIR',
    help: 'Hugging Face model folder (config.json, model.safetensors, tokenizer.json), a llama .gguf file, or a llama2.c .bin (tokenizer.bin or one tok*.bin beside it)',
  },
  backend: {
    type: 'string',
    choices: ['native', 'reference', 'webgpu'],
    help: 'compute backend (default: native when built; env COLA_BACKEND; webgpu: docs/WEBGPU.md)',
  },
  dtype: { type: 'string', choices: ['f32', 'bf16'], help: "frozen weights in memory (default: the checkpoint's precision)" },
  quantize: {
    type: 'string',
    choices: [...QUANT_FORMATS],
    help: 'quantize the frozen linear weights (not embeddings, norms, LM head): int8 (per-row), nf4 (QLoRA, blocks of 64), q8_0 / q4_0 (GGUF, blocks of 32)',
  },
  'double-quant': {
    type: 'boolean',
    help: "with --quantize nf4: QLoRA's double quantization of the block scales (bitsandbytes' bnb_4bit_use_double_quant; ~0.37 bits less per weight)",
  },
  ...maxMemoryOption,
};

/** --double-quant double-quantizes nf4's block scales: refused (before any loading)
 * without --quantize nf4. */
export function checkDoubleQuant(quantize: string | undefined): void {
  if (quantize !== 'nf4')
    throw new ColaError(
      `--double-quant quantizes nf4's block scales: it needs --quantize nf4${quantize ? `, not ${quantize}` : ''} (or drop --double-quant)`,
    );
}

export interface LoadedModel {
  backend: Backend;
  model: CausalLM;
  tokenizer: TextTokenizer;
  dir: string;
}

/** `tokenizerDir`: where the tokenizer is when the weights' folder has none (a full
 * fine-tuning run's model/ beside its base model's tokenizer). */
export function loadModelAndTokenizer(v: OptionValues, dirOverride?: string, tokenizerDir?: string, keepDense = false): LoadedModel {
  const dir = dirOverride ?? (v['model'] as string | undefined);
  if (!dir)
    throw new ColaError(
      '--model DIR is required (a Hugging Face model folder or a llama .gguf file; `cola convert llama2c` makes a folder from a llama2.c .bin)',
    );
  if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
  configureRuntime({ compute: v['compute'] as ComputeRequest | undefined, threads: v['threads'] as number | undefined });
  const backend = getBackend(v['backend'] as BackendName | undefined);
  const quantize = v['quantize'] as QuantFormat | undefined;
  if (v['double-quant']) checkDoubleQuant(quantize);
  // LoftQ (--lora-init loftq) re-chooses the codes from the dense weights: load dense, keep them
  const dense = keepDense && quantize !== undefined;
  const model = loadModel(dir, {
    backend,
    dtype: v['dtype'] as 'f32' | 'bf16' | undefined,
    maxMemory: maxMemoryOf(v),
    quantize: dense ? undefined : quantize,
  });
  checkCompute(model.weightDtype); // --compute bf16 with f32 weights: an error with the fix
  if (quantize) quantizeModel(model, quantize, dense); // linear layers not built by linearFrom (GPT-2's Conv1D)
  if (v['double-quant']) doubleQuantizeModel(model); // refuses a model with no nf4 layer
  const tokenizer = loadTokenizer(tokenizerDir ?? dir);
  return { backend, model, tokenizer, dir };
}

/** --quantize-calibration without --quantize: nothing to calibrate. */
export function calibrationNeedsQuantize(examples: number): ColaError {
  return new ColaError(
    `--quantize-calibration ${examples} chooses the codes of a quantized base: give --quantize ${QUANT_FORMATS.join('|')} with it, or drop it`,
  );
}

/** `--quantize F --quantize-calibration N`: the base loaded dense, the data read by
 * `prepare`, then the linear layers quantized to F with GPTQ on the first N training
 * examples (api/calibratedBase.ts); --double-quant after. Refused without --quantize. */
export function loadCalibratedBase(
  v: OptionValues,
  examples: number,
  prepare: (model: CausalLM, tokenizer: TextTokenizer) => PreparedData,
  tokenizerDir?: string,
): LoadedModel & { data: PreparedData; calibration: CalibrationReport } {
  const format = v['quantize'] as QuantFormat | undefined;
  if (!format) throw calibrationNeedsQuantize(examples);
  const doubleQuant = v['double-quant'] === true;
  if (doubleQuant) checkDoubleQuant(format);
  const loaded = loadModelAndTokenizer({ ...v, quantize: undefined, 'double-quant': undefined }, undefined, tokenizerDir);
  const data = prepare(loaded.model, loaded.tokenizer);
  const t0 = Date.now();
  const report = quantizeCalibrated(loaded.model, data.train, { format, examples, doubleQuant });
  return { ...loaded, data, calibration: { ...report, seconds: (Date.now() - t0) / 1000 } };
}
