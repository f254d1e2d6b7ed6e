import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { configJsonText } from './configJson.js';
import { writeShardedSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensorsWriter.js';
import { f32ToBf16 } from '../io/floatBits.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { CausalLM } from './causalLM.js';

/** Write a Hugging Face model folder (config.json + safetensors) of the model's
 * current weights, in their in-memory dtype. LoRA wrappers must be merged and
 * unloaded first (mergeAndUnload) so keys are the checkpoint's own. */
export function saveModelFolder(model: CausalLM, dir: string, opts: { maxShardBytes?: number } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = model.exportTensors().map(([name, t]) => ({
    name,
    dtype: t.dtype === 'bf16' ? 'BF16' : 'F32',
    shape: [...t.shape],
    data: t.data,
  }));
  // Quantized layers (issue 17: --quantize, a Q8_0 GGUF, a llama2.c int8 file) hold their
  // codes outside the parameter tree: the folder gets the weight each one applies,
  // dequant(W) plus its merged links, in the model's dtype (what the model computes).
  for (const [p, m] of model.namedModules()) {
    if (!(m instanceof QuantizedLinear)) continue;
    const w = m.effectiveWeight();
    const bf16 = model.weightDtype === 'bf16';
    tensors.push({
      name: `${p}.weight`,
      dtype: bf16 ? 'BF16' : 'F32',
      shape: [m.outFeatures, m.inFeatures],
      data: bf16 ? f32ToBf16(w) : w,
    });
  }
  const bad = tensors.filter((t) => /\.(base_layer|lora_[AB])\b/.test(t.name));
  if (bad.length) throw new Error(`saveModelFolder: LoRA layers still wrapped (${bad[0]!.name}); merge and unload first`);
  const total = tensors.reduce((s, t) => s + t.data.byteLength, 0);
  if (opts.maxShardBytes && total > opts.maxShardBytes) writeShardedSafetensors(dir, tensors, opts.maxShardBytes);
  else writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  const config = { ...model.config, torch_dtype: model.weightDtype === 'bf16' ? 'bfloat16' : 'float32' };
  writeTextAtomic(path.join(dir, 'config.json'), configJsonText(config, model.configFloatKeys));
}
