/** Write a model's current weights (LoRA merged and unloaded) as a llama.cpp GGUF file. */
import { bf16ToF32 } from '../io/floatBits.js';
import type { GgufValue } from '../io/gguf/ggufReader.js';
import { writeLlamaGguf, type GgufWriteType, type WrittenGguf } from '../io/gguf/ggufLlamaWriter.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { CausalLM } from './causalLM.js';
import { GGUF_BLOCK_CODEC } from './ggufBlockCodec.js';

export interface SaveGgufArgs {
  file: string;
  type: GgufWriteType;
  /** tokenizer.ggml.* (io/gguf/ggufTokenizer.ts tokenizerMetadataFor) */
  tokenizer: [string, GgufValue][];
  name?: string;
}

export function saveModelGguf(model: CausalLM, a: SaveGgufArgs): WrittenGguf {
  const tensors = model.exportTensors().map(([name, t]) => {
    if (/\.(base_layer|lora_[AB])\b/.test(name))
      throw new Error(`saveModelGguf: LoRA layers still wrapped (${name}); merge and unload first`);
    const data = t.dtype === 'bf16' ? bf16ToF32(t.data as Uint16Array) : (t.data as Float32Array);
    return { name, shape: [...t.shape], data };
  });
  // A quantized layer's codes are not a parameter (issue 17): write the weight it applies,
  // dequant(W) + its merged links. Re-encoding dequant(W) as the same Q8_0 / Q4_0 gives
  // back the same blocks (the codec is idempotent), so a quantized GGUF re-exports exactly.
  for (const [path, m] of model.namedModules())
    if (m instanceof QuantizedLinear)
      tensors.push({ name: `${path}.weight`, shape: [m.outFeatures, m.inFeatures], data: m.effectiveWeight() });
  return writeLlamaGguf({
    file: a.file,
    config: model.config,
    tensors,
    tokenizer: a.tokenizer,
    type: a.type,
    name: a.name,
    codec: GGUF_BLOCK_CODEC,
  });
}
