import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { QUANT_FORMATS, type QuantFormat } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { readJsonObject } from '../io/fileIo.js';
import { checkMemory } from '../io/memory.js';
import { openGgufLlama } from '../io/gguf/ggufLlama.js';
import { isGgufFile } from '../io/gguf/ggufPath.js';
import { llama2cTensors } from '../io/llama2c.js';
import { DTYPE_BYTES, loadedBytes, openSafetensors } from '../io/safetensors.js';
import type { CausalLM } from './causalLM.js';
import { floatKeys } from './configJson.js';
import { ggufSummary, loadGgufModel } from './loadGguf.js';
import { isLlama2cFile } from '../io/llama2cPath.js';
import { llama2cSummary, loadLlama2cModel } from './loadLlama2c.js';
import { quantizedLoadBytes } from './quantize.js';
import { modelFamily } from './registry.js';
import { buildFromCheckpoint } from './buildFromCheckpoint.js';
import { RandomWeights, type TensorReader, type WeightDtype } from './weightSource.js';
import './families.js';

export interface LoadOptions {
  backend: Backend;
  /** Frozen matrices/embeddings in memory; default: the checkpoint's own precision
   * (f32 and f16 files load as f32, bf16 files as bf16). */
  dtype?: WeightDtype;
  /** Bytes the weights may take in memory (the CLI's --max-memory); default: the memory
   * available now. Checked against the headers before any tensor is allocated. */
  maxMemory?: number;
  /** Where load notes go (a GGUF file's dequantized types); default: stderr. */
  warn?: (message: string) => void;
  /** Quantize the linear weights as they load (issue 17; not embeddings, norms, LM head):
   * the model never holds more than one dense matrix at a time. */
  quantize?: QuantFormat;
}

/** Load a Hugging Face model folder: config.json + model.safetensors (or shards), a
 * llama GGUF file (a path ending in .gguf) or a llama2.c checkpoint (a path ending in .bin;
 * its tokenizer beside it). */
export function loadModel(dir: string, opts: LoadOptions): CausalLM {
  if (opts.quantize !== undefined && !QUANT_FORMATS.includes(opts.quantize))
    throw new ColaError(
      `quantize ${String(opts.quantize)}: not a format to quantize a base into (one of ${QUANT_FORMATS.join(', ')})` +
        (opts.quantize === 'int8g' ? '; int8g holds llama2.c int8 checkpoints as they are, which load into it without quantize' : ''),
    );
  if (isGgufFile(dir)) return loadGgufModel(dir, opts);
  if (isLlama2cFile(dir)) return loadLlama2cModel(dir, opts);
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) {
    throw new ColaError(`${dir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors)`);
  }
  const config = readJsonObject(configFile);
  const family = modelFamily(config['model_type'], configFile);
  const file = openSafetensors(dir, { maxMemory: opts.maxMemory });
  const dtype = opts.dtype ?? checkpointDtype(file.tensors);
  // every tensor at the in-memory dtype's size (norms and biases, kept f32, are tiny)
  const need = opts.quantize
    ? quantizedLoadBytes(file.tensors, dtype === 'bf16' ? 2 : 4, opts.quantize)
    : loadedBytes(file.tensors, () => (dtype === 'bf16' ? 2 : 4));
  checkMemory(
    need,
    `${file.path}: loading ${file.tensors.size} tensors as ${dtype}${opts.quantize ? ` (linear weights ${opts.quantize})` : ''}`,
    opts.maxMemory,
    dtype === 'f32' ? 'loading with --dtype bf16 halves it' : '',
  );
  const reader: TensorReader = {
    path: file.path,
    names: () => [...file.tensors.keys()],
    shape: (name) => file.tensors.get(name)!.shape,
    read: (name, as, backend) => {
      const info = file.tensors.get(name)!;
      const storage = backend.alloc(as, info.byteLength / DTYPE_BYTES[info.dtype]) as Float32Array | Uint16Array;
      file.readInto(name, storage);
      return storage;
    },
  };
  const model = buildFromCheckpoint({
    family,
    config: config,
    reader,
    dtype,
    backend: opts.backend,
    quantize: opts.quantize,
    origin: configFile,
  });
  model.configFloatKeys = floatKeys(fs.readFileSync(configFile, 'utf8'));
  return model;
}

/** The checkpoint's tensor names (Hugging Face's) and shapes from its headers alone: a
 * model folder's safetensors, a .gguf file (named as the Hugging Face checkpoint's) or a
 * llama2.c .bin. */
export function checkpointTensorShapes(dir: string): Map<string, { shape: readonly number[] }> {
  if (isGgufFile(dir)) return openGgufLlama(dir).tensors;
  if (isLlama2cFile(dir)) return llama2cTensors(dir).tensors;
  return openSafetensors(dir).tensors;
}

/** What a model folder holds, from config.json and the safetensors headers alone: no
 * tensor is read or allocated, so it is safe on any file (what `cola info` needs). */
export interface CheckpointSummary {
  modelType: string;
  config: Record<string, unknown>;
  tensors: number;
  /** elements over all stored tensors (a tied embedding is stored, and counted, once) */
  parameters: number;
  /** stored dtypes, sorted */
  dtypes: string[];
  /** bytes the weights take once loaded as f32 / bf16 */
  loadedBytes: { f32: number; bf16: number };
  /** a .gguf file (issue 17): the linear weights that load as cola quantized codes, by
   * format (Hugging Face names), and the quantized tensors that are dequantized, with why */
  keptQuantized?: Record<string, string[]>;
  dequantized?: { name: string; type: string; why: string }[];
}

export function checkpointSummary(dir: string): CheckpointSummary {
  if (isGgufFile(dir)) return ggufSummary(dir);
  if (isLlama2cFile(dir)) return llama2cSummary(dir);
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) {
    throw new ColaError(`${dir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors)`);
  }
  const config = readJsonObject(configFile);
  modelFamily(config['model_type'], configFile); // an unsupported type is refused here too
  const file = openSafetensors(dir);
  let parameters = 0;
  for (const t of file.tensors.values()) parameters += t.byteLength / DTYPE_BYTES[t.dtype];
  return {
    modelType: config['model_type'] as string,
    config,
    tensors: file.tensors.size,
    parameters,
    dtypes: [...new Set([...file.tensors.values()].map((t) => t.dtype))].sort(),
    loadedBytes: { f32: loadedBytes(file.tensors, () => 4), bf16: loadedBytes(file.tensors, () => 2) },
  };
}

function checkpointDtype(tensors: Map<string, { dtype: string }>): WeightDtype {
  for (const info of tensors.values()) if (info.dtype === 'BF16') return 'bf16';
  return 'f32';
}

/** A randomly initialised model from a config object (tests, benchmarks). */
export function randomModel(config: Record<string, unknown>, opts: LoadOptions & { seed?: number; std?: number }): CausalLM {
  const family = modelFamily(config['model_type'], 'config');
  const dtype = opts.dtype ?? 'f32';
  const model = family.build(config, new RandomWeights(opts.backend, opts.seed ?? 1, dtype, opts.std), 'config');
  model.weightDtype = dtype;
  return model;
}
