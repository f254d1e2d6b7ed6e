/** `cola convert gguf`: a llama GGUF file -> a Hugging Face model folder (config.json,
 * model.safetensors in f32, tokenizer.json, tokenizer_config.json, generation_config.json)
 * that cola and transformers load. F32, F16 and BF16 weights convert exactly; quantized
 * ones (Q8_0, Q4_0, K-quants) are dequantized to f32, and the result says which. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../fileIo.js';
import { INDEX_FILE } from '../safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../safetensorsWriter.js';
import type { GgufBlockCodec } from './ggufCodecs.js';
import { openGgufLlama, readGgufLlamaTensor, type GgufLlama } from './ggufLlama.js';
import { ggufToHfTokenizer } from './ggufTokenizer.js';

export interface ConvertGgufResult {
  outDir: string;
  files: string[];
  config: Record<string, unknown>;
  /** ggml types that were dequantized to f32 (empty for F32/F16/BF16 files) */
  dequantized: string[];
}

/** The quantized ggml types among a file's tensors, sorted. */
export function quantizedTypes(g: GgufLlama): string[] {
  const names = [...g.tensors.values()].map((t) => t.info.type.name).filter((n) => !['F32', 'F16', 'BF16'].includes(n));
  return [...new Set(names)].sort();
}

/** `codec`: cola's Q8_0 / Q4_0 block codec (models/ggufBlockCodec.ts GGUF_BLOCK_CODEC). */
export function convertGguf(file: string, outDir: string, codec: GgufBlockCodec): ConvertGgufResult {
  const g = openGgufLlama(file);
  const tok = ggufToHfTokenizer(g.file, g.config['max_position_embeddings'] as number);
  const tensors: TensorToWrite[] = [...g.tensors.values()].map((t) => ({
    name: t.name,
    dtype: 'F32',
    shape: t.shape,
    data: readGgufLlamaTensor(g, t.name, codec),
  }));
  fs.mkdirSync(outDir, { recursive: true });
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  fs.rmSync(path.join(outDir, INDEX_FILE), { force: true }); // a stale index would win over the new file
  writeJsonAtomic(path.join(outDir, 'tokenizer.json'), tok.tokenizerJson);
  writeJsonAtomic(path.join(outDir, 'tokenizer_config.json'), tok.tokenizerConfig);
  writeJsonAtomic(path.join(outDir, 'generation_config.json'), { ...tok.generationConfig, _from_model_config: true });
  writeJsonAtomic(path.join(outDir, 'config.json'), g.config);
  const files = ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'config.json'];
  return { outDir, files, config: g.config, dequantized: quantizedTypes(g) };
}
