/** `cola convert llama2c`: a llama2.c model .bin + tokenizer .bin -> a Hugging Face model
 * folder (config.json, model.safetensors in f32, tokenizer.json, tokenizer_config.json,
 * generation_config.json) that cola and transformers both load. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from './fileIo.js';
import { readLlama2c, type ReadLlama2cOptions } from './llama2c.js';
import { readLlama2cTokenizer, toHfTokenizerConfig, toHfTokenizerJson } from './llama2cTokenizer.js';
import { INDEX_FILE } from './safetensors.js';
import { writeSafetensors, type TensorToWrite } from './safetensorsWriter.js';

export interface ConvertLlama2cResult {
  outDir: string;
  files: string[];
  config: Record<string, unknown>;
}

/** Everything is read and checked before the first file is written; each file is then
 * written atomically (config.json last, so a folder with a config is complete). */
export function convertLlama2c(
  modelBin: string,
  tokenizerBin: string,
  outDir: string,
  opts: ReadLlama2cOptions = {},
): ConvertLlama2cResult {
  const model = readLlama2c(modelBin, opts);
  const vocab = readLlama2cTokenizer(tokenizerBin, model.header.vocabSize);
  const tensors: TensorToWrite[] = [...model.stateDict].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: t.data }));
  fs.mkdirSync(outDir, { recursive: true });
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  // a stale sharded index would take precedence over the new single file when loading
  fs.rmSync(path.join(outDir, INDEX_FILE), { force: true });
  writeJsonAtomic(path.join(outDir, 'tokenizer.json'), toHfTokenizerJson(vocab));
  writeJsonAtomic(path.join(outDir, 'tokenizer_config.json'), toHfTokenizerConfig(model.header.seqLen));
  writeJsonAtomic(path.join(outDir, 'generation_config.json'), { bos_token_id: 1, eos_token_id: 2, _from_model_config: true });
  writeJsonAtomic(path.join(outDir, 'config.json'), model.config);
  const files = ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'config.json'];
  return { outDir, files, config: model.config };
}
