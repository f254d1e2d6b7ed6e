/** `--model FILE.gguf`: a llama GGUF file loaded as a cola model (issue 17), through the
 * same family builder and key checks as a Hugging Face folder. Weights are read one tensor
 * at a time. Quantized tensors (Q8_0, Q4_0, K-quants) are dequantized to float32 on load
 * (a note says so once): cola's own quantized-weight type is separate work. */
import { f32ToBf16 } from '../io/floatBits.js';
import { checkMemory } from '../io/memory.js';
import { quantizedTypes } from '../io/gguf/convertGguf.js';
import { openGgufLlama, readGgufLlamaTensor } from '../io/gguf/ggufLlama.js';
import type { CausalLM } from './causalLM.js';
import type { Backend } from '../backend/backend.js';
import { modelFamily } from './registry.js';
import { CheckpointWeights, type TensorReader, type WeightDtype } from './weightSource.js';

/** load.ts's LoadOptions (repeated here: load.ts imports this file). */
export interface GgufLoadOptions {
  backend: Backend;
  dtype?: WeightDtype;
  maxMemory?: number;
  warn?: (message: string) => void;
}

export function loadGgufModel(file: string, opts: GgufLoadOptions): CausalLM {
  const g = openGgufLlama(file);
  const family = modelFamily(g.config['model_type'], file);
  const matrices = [...g.tensors.values()].filter((t) => t.shape.length > 1);
  // a BF16 file stays bf16, as a bf16 safetensors folder does; anything else loads as f32
  const dtype: WeightDtype = opts.dtype ?? (matrices.length > 0 && matrices.every((t) => t.info.type.name === 'BF16') ? 'bf16' : 'f32');
  let elements = 0;
  for (const t of g.tensors.values()) elements += t.info.elements;
  checkMemory(elements * (dtype === 'bf16' ? 2 : 4), `${file}: loading ${g.tensors.size} tensors as ${dtype}`, opts.maxMemory);
  const quantized = quantizedTypes(g);
  if (quantized.length) {
    (opts.warn ?? defaultWarn)(
      `note: ${file} holds ${quantized.join(', ')} tensors; cola dequantizes them to ${dtype} on load (the model trains and runs in ${dtype}; the quantization error stays in the weights)`,
    );
  }
  const reader: TensorReader = {
    path: file,
    names: () => [...g.tensors.keys()],
    shape: (name) => g.tensors.get(name)!.shape,
    read: (name, as, backend) => {
      const values = readGgufLlamaTensor(g, name);
      const storage = backend.alloc(as, values.length) as Float32Array | Uint16Array;
      storage.set(as === 'bf16' ? f32ToBf16(values) : values);
      return storage;
    },
  };
  const src = new CheckpointWeights(opts.backend, reader, dtype, family.ignoredKeys?.(g.config) ?? []);
  const model = family.build(g.config, src, file);
  src.finish();
  model.weightDtype = dtype;
  return model;
}

const defaultWarn = (msg: string) => process.stderr.write(`cola: ${msg}\n`);

/** load.ts's CheckpointSummary of a GGUF file, from its header alone. */
export function ggufSummary(file: string) {
  const g = openGgufLlama(file);
  let parameters = 0;
  for (const t of g.tensors.values()) parameters += t.info.elements;
  return {
    modelType: 'llama',
    config: g.config,
    tensors: g.tensors.size,
    parameters,
    dtypes: [...new Set([...g.tensors.values()].map((t) => t.info.type.name))].sort(),
    loadedBytes: { f32: 4 * parameters, bf16: 2 * parameters },
  };
}
