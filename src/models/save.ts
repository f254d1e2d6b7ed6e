import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { configJsonText } from './configJson.js';
import { writeShardedSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensorsWriter.js';
import { ColaError } from '../errors.js';
import type { CausalLM } from './causalLM.js';
import { isQuantized } from './quantize.js';

/** Write a Hugging Face model folder (config.json + safetensors) of the model's
 * current weights, in their in-memory dtype. LoRA wrappers must be merged and
 * unloaded first (mergeAndUnload) so keys are the checkpoint's own. */
export function saveModelFolder(model: CausalLM, dir: string, opts: { maxShardBytes?: number } = {}): void {
  // Quantized layers hold their codes outside the parameter tree: a folder written now
  // would silently lack those weights (issue 17; GGUF export writes quantized models).
  if (isQuantized(model))
    throw new ColaError(
      'saveModelFolder: the model has quantized linear layers, which a safetensors folder cannot hold; load it without --quantize to export',
    );
  fs.mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = model.exportTensors().map(([name, t]) => ({
    name,
    dtype: t.dtype === 'bf16' ? 'BF16' : 'F32',
    shape: [...t.shape],
    data: t.data,
  }));
  const bad = tensors.filter((t) => /\.(base_layer|lora_[AB])\b/.test(t.name));
  if (bad.length) throw new Error(`saveModelFolder: LoRA layers still wrapped (${bad[0]!.name}); merge and unload first`);
  const total = tensors.reduce((s, t) => s + t.data.byteLength, 0);
  if (opts.maxShardBytes && total > opts.maxShardBytes) writeShardedSafetensors(dir, tensors, opts.maxShardBytes);
  else writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  const config = { ...model.config, torch_dtype: model.weightDtype === 'bf16' ? 'bfloat16' : 'float32' };
  writeTextAtomic(path.join(dir, 'config.json'), configJsonText(config, model.configFloatKeys));
}
