/** `--model FILE.gguf`: a llama GGUF file loaded as a cola model (issue 17), through the
 * same family builder and key checks as a Hugging Face folder. Weights are read one tensor
 * at a time.
 *
 * Quantized tensors: a block linear weight (q/k/v/o, gate/up/down) stored as Q8_0 or Q4_0
 * stays quantized as cola's own `q8_0` / `q4_0` (the same block bytes, never widened),
 * unless its rows are not whole 32-value blocks (then its blocks cross rows: dequantized).
 * Everything else quantized (the embedding and output layer in any quantized type,
 * K-quants anywhere) is dequantized to the storage dtype; a note says which.
 *
 * `--quantize F` on such a file: F equal to the file's one kept format is accepted (the
 * linear weights the file stores dense are quantized to F as well); any other F is refused
 * (re-quantizing quantized codes would add a second rounding). On a file whose linear
 * weights are dense or K-quants, --quantize works as on a folder. */
import type { Backend } from '../backend/backend.js';
import { quantBytes, type QuantFormat, type QuantWeight } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { f32ToBf16 } from '../io/floatBits.js';
import { checkMemory } from '../io/memory.js';
import type { GgufBlockFormat } from '../io/gguf/ggufCodecs.js';
import { blockMatrixProblem, openGgufLlama, readGgufLlamaBlocks, readGgufLlamaTensor, type GgufLlama } from '../io/gguf/ggufLlama.js';
import type { CausalLM } from './causalLM.js';
import { GGUF_BLOCK_CODEC } from './ggufBlockCodec.js';
import { modelFamily } from './registry.js';
import { buildFromCheckpoint } from './buildFromCheckpoint.js';
import type { TensorReader, WeightDtype } from './weightSource.js';

/** load.ts's LoadOptions (repeated here: load.ts imports this file). */
export interface GgufLoadOptions {
  backend: Backend;
  dtype?: WeightDtype;
  maxMemory?: number;
  warn?: (message: string) => void;
  quantize?: QuantFormat;
}

/** What a GGUF load does with each quantized tensor, from the header alone. */
export interface GgufQuantPlan {
  /** HF name -> cola format: linear weights kept as their blocks */
  kept: Map<string, GgufBlockFormat>;
  /** quantized tensors that are dequantized, and why */
  dequantized: { name: string; type: string; why: string }[];
}

/** A block linear weight: a 2-D `.weight` inside a numbered block (as quantize.ts
 * quantizedLoadBytes counts them); the embedding and output layer sit outside. */
const isBlockLinear = (name: string, shape: readonly number[]) => shape.length === 2 && /\.\d+\./.test(name) && name.endsWith('.weight');

export function ggufQuantPlan(g: GgufLlama): GgufQuantPlan {
  const kept = new Map<string, GgufBlockFormat>();
  const dequantized: GgufQuantPlan['dequantized'] = [];
  for (const t of g.tensors.values()) {
    const type = t.info.type.name;
    if (type === 'F32' || type === 'F16' || type === 'BF16') continue;
    const problem = blockMatrixProblem(t);
    if (!isBlockLinear(t.name, t.shape))
      dequantized.push({ name: t.info.name, type, why: 'embeddings and the output layer stay in the storage dtype' });
    else if (problem) dequantized.push({ name: t.info.name, type, why: problem });
    else kept.set(t.name, type === 'Q8_0' ? 'q8_0' : 'q4_0');
  }
  return { kept, dequantized };
}

/** The kept formats, sorted ("q8_0", or "q4_0, q8_0" for a mixed file). */
function keptFormats(plan: GgufQuantPlan): GgufBlockFormat[] {
  return [...new Set(plan.kept.values())].sort();
}

/** --quantize on a file that already stores quantized linear weights: see the file comment. */
function checkQuantizeFlag(file: string, plan: GgufQuantPlan, quantize: QuantFormat | undefined): void {
  const formats = keptFormats(plan);
  if (!quantize || formats.length === 0 || (formats.length === 1 && formats[0] === quantize)) return;
  const same =
    formats.length === 1 ? ` (or --quantize ${formats[0]}, which also quantizes the linear weights the file stores unquantized)` : '';
  throw new ColaError(
    `--quantize ${quantize}: ${file} already stores ${plan.kept.size} linear weights quantized (${formats.join(', ')}); cola keeps them as they are ` +
      `without --quantize, and re-quantizing them to ${quantize} would round already-rounded weights a second time. Drop --quantize${same}, ` +
      'or convert an unquantized copy of the model (cola convert gguf on an F32/F16 file) to quantize it differently.',
  );
}

/** The note a load prints: what stays quantized, what is dequantized. */
function loadNote(file: string, plan: GgufQuantPlan, dtype: WeightDtype, quantize: QuantFormat | undefined): string | null {
  const parts: string[] = [];
  if (plan.kept.size)
    parts.push(
      `${plan.kept.size} linear weights stay quantized as cola's ${keptFormats(plan).join(', ')} (the file's blocks, not widened)`,
    );
  const byWhy = new Map<string, string[]>();
  for (const d of plan.dequantized) byWhy.set(`${d.type}: ${d.why}`, [...(byWhy.get(`${d.type}: ${d.why}`) ?? []), d.name]);
  for (const [why, names] of byWhy)
    parts.push(
      `dequantized to ${dtype}: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ` (+${names.length - 4} more)` : ''} (${why})`,
    );
  if (quantize && plan.dequantized.some((d) => d.name.startsWith('blk.')))
    parts.push(`--quantize ${quantize} re-quantizes the dequantized linear weights (a second rounding on those)`);
  return parts.length ? `note: ${file}: ${parts.join('; ')}` : null;
}

export function loadGgufModel(file: string, opts: GgufLoadOptions): CausalLM {
  const g = openGgufLlama(file);
  const family = modelFamily(g.config['model_type'], file);
  const plan = ggufQuantPlan(g);
  checkQuantizeFlag(file, plan, opts.quantize);
  const matrices = [...g.tensors.values()].filter((t) => t.shape.length > 1);
  // a BF16 file stays bf16, as a bf16 safetensors folder does; anything else loads as f32
  const dtype: WeightDtype = opts.dtype ?? (matrices.length > 0 && matrices.every((t) => t.info.type.name === 'BF16') ? 'bf16' : 'f32');
  checkMemory(
    ggufLoadedBytes(g, plan, dtype === 'bf16' ? 2 : 4, opts.quantize),
    `${file}: loading ${g.tensors.size} tensors as ${dtype}${plan.kept.size ? ` (${plan.kept.size} kept quantized)` : ''}`,
    opts.maxMemory,
  );
  const note = loadNote(file, plan, dtype, opts.quantize);
  if (note) (opts.warn ?? defaultWarn)(note);
  const reader: TensorReader = {
    path: file,
    names: () => [...g.tensors.keys()],
    shape: (name) => g.tensors.get(name)!.shape,
    read: (name, as, backend) => {
      const values = readGgufLlamaTensor(g, name, GGUF_BLOCK_CODEC);
      const storage = backend.alloc(as, values.length) as Float32Array | Uint16Array;
      storage.set(as === 'bf16' ? f32ToBf16(values) : values);
      return storage;
    },
    readQuantized: (name): QuantWeight | null => {
      if (!plan.kept.has(name)) return null;
      const b = readGgufLlamaBlocks(g, name);
      return { format: b.format, rows: b.rows, cols: b.cols, data: b.data, scales: null };
    },
  };
  return buildFromCheckpoint({ family, config: g.config, reader, dtype, backend: opts.backend, quantize: opts.quantize, origin: file });
}

const defaultWarn = (msg: string) => process.stderr.write(`cola: ${msg}\n`);

/** Bytes the weights take loaded: kept tensors as their blocks, block linear weights as
 * `quantize` when given, the rest at `bytesPerElement`. */
function ggufLoadedBytes(g: GgufLlama, plan: GgufQuantPlan, bytesPerElement: number, quantize: QuantFormat | undefined): number {
  let sum = 0;
  for (const t of g.tensors.values()) {
    const kept = plan.kept.get(t.name);
    const format = kept ?? (quantize && isBlockLinear(t.name, t.shape) ? quantize : undefined);
    sum += format ? quantBytes(format, t.shape[0]!, t.shape[1]!) : t.info.elements * bytesPerElement;
  }
  return sum;
}

/** load.ts's CheckpointSummary of a GGUF file, from its header alone, plus which tensors
 * stay quantized on load (`cola info`). */
export function ggufSummary(file: string) {
  const g = openGgufLlama(file);
  const plan = ggufQuantPlan(g);
  let parameters = 0;
  for (const t of g.tensors.values()) parameters += t.info.elements;
  return {
    modelType: 'llama',
    config: g.config,
    tensors: g.tensors.size,
    parameters,
    dtypes: [...new Set([...g.tensors.values()].map((t) => t.info.type.name))].sort(),
    loadedBytes: { f32: ggufLoadedBytes(g, plan, 4, undefined), bf16: ggufLoadedBytes(g, plan, 2, undefined) },
    keptQuantized: Object.fromEntries(keptFormats(plan).map((f) => [f, [...plan.kept].filter(([, k]) => k === f).map(([n]) => n)])),
    dequantized: plan.dequantized,
  };
}
