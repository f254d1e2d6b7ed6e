/** `--model FILE.bin`: a llama2.c checkpoint loaded directly (issue 17). A version 2 file
 * stores its weights as int8 with one f32 scale per group of `group_size` values: its block
 * linear weights (q/k/v/o, gate/up/down) load quantized as cola's `int8g` (int8 codes, one
 * f32 scale per group along the row), never widened: the file's codes and scales as they
 * are, so every weight is exactly q * s in f32, as llama2.c's runq.c and the f32 widening
 * (`cola convert llama2c`) compute it — bit-exact.
 *
 * int8g needs groups that do not cross rows (rows of a multiple of group_size values);
 * a weight whose rows are not whole groups is widened exactly instead, with the reason.
 * The embedding (and an untied classifier) are widened exactly, q * s in f32. Any
 * --quantize is refused: re-quantizing the file's codes would round them a second time. */
import type { Backend } from '../backend/backend.js';
import { INT8G_MAX_GROUP, quantBytes, type QuantFormat, type QuantWeight } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { f32ToBf16 } from '../io/floatBits.js';
import { llama2cTensors, readLlama2c, type GroupedInt8Tensor } from '../io/llama2c.js';
import { checkMemory } from '../io/memory.js';
import type { CausalLM } from './causalLM.js';
import { modelFamily } from './registry.js';
import { buildFromCheckpoint } from './buildFromCheckpoint.js';
import type { TensorReader, WeightDtype } from './weightSource.js';

export interface Llama2cLoadOptions {
  backend: Backend;
  dtype?: WeightDtype;
  maxMemory?: number;
  warn?: (message: string) => void;
  quantize?: QuantFormat;
}

/** A block linear weight: a 2-D `.weight` inside a numbered block. */
const isBlockLinear = (key: string) => /^model\.layers\.\d+\.(self_attn|mlp)\.[a-z_]+_proj\.weight$/.test(key);

/** The groups as int8g (the file's codes and f32 scales, shared, not copied), or why
 * they cannot be. */
export function groupsToInt8g(t: GroupedInt8Tensor): { weight: QuantWeight } | { problem: string } {
  const [rows, cols] = t.shape as [number, number];
  const problem = int8gProblem(t.shape, t.groupSize);
  if (problem) return { problem };
  if (t.codes.length !== rows * cols || t.scales.length !== (rows * cols) / t.groupSize)
    return { problem: `${t.codes.length} codes and ${t.scales.length} scales do not fit [${rows}, ${cols}] in groups of ${t.groupSize}` };
  const data = new Uint8Array(t.codes.buffer, t.codes.byteOffset, t.codes.length);
  return { weight: { format: 'int8g', rows, cols, groupSize: t.groupSize, data, scales: t.scales } };
}

/** Why a version 2 tensor of this shape cannot stay int8g (null: it can), from its shape
 * alone: groups must not cross rows (io/llama2c.ts keeps q/k groups under the same rule). */
function int8gProblem(shape: readonly number[], groupSize: number): string | null {
  if (groupSize > INT8G_MAX_GROUP) return `group_size ${groupSize} is over int8g's largest group (${INT8G_MAX_GROUP})`;
  if (shape[1]! % groupSize !== 0) return `rows of ${shape[1]} values are not whole groups of ${groupSize}`;
  return null;
}

/** What `cola info` says of a llama2.c .bin, from its header alone (the shape of
 * models/load.ts CheckpointSummary): a version 2 file's block linear weights that stay
 * int8g and the int8 tensors widened to f32, with why. */
export function llama2cSummary(file: string) {
  const { header, config, tensors } = llama2cTensors(file);
  const kept: string[] = [];
  const dequantized: { name: string; type: string; why: string }[] = [];
  let parameters = 0;
  const bytes = { f32: 0, bf16: 0 };
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    parameters += n;
    const problem = t.quantized
      ? isBlockLinear(name)
        ? int8gProblem(t.shape, header.groupSize)
        : 'the embedding is widened exactly'
      : null;
    if (t.quantized && problem === null) {
      kept.push(name);
      const q = quantBytes('int8g', t.shape[0]!, t.shape[1]!, false, header.groupSize);
      bytes.f32 += q;
      bytes.bf16 += q;
      continue;
    }
    if (problem) dequantized.push({ name, type: `int8 (group ${header.groupSize})`, why: `${problem} (q * s in f32)` });
    bytes.f32 += 4 * n;
    bytes.bf16 += 2 * n; // as loadLlama2cModel's memory check counts them
  }
  return {
    modelType: 'llama',
    config,
    tensors: tensors.size,
    parameters,
    dtypes: header.version === 2 ? ['F32', `I8 (llama2.c groups of ${header.groupSize}, F32 scales)`] : ['F32'],
    loadedBytes: bytes,
    ...(header.version === 2 ? { keptQuantized: keptQuantized(kept), dequantized } : {}),
  };
}

const keptQuantized = (kept: string[]): Record<string, string[]> => (kept.length ? { int8g: kept } : {});

/** value i = codes[i] * scales[i / groupSize] in f32, as llama2.c's runq.c dequantize(). */
function widenGroups(t: GroupedInt8Tensor): Float32Array {
  const out = new Float32Array(t.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = t.codes[i]! * t.scales[Math.floor(i / t.groupSize)]!;
  return out;
}

export function loadLlama2cModel(file: string, opts: Llama2cLoadOptions): CausalLM {
  const m = readLlama2c(file, { keepGroups: isBlockLinear });
  if (m.groups.size && opts.quantize)
    throw new ColaError(
      `--quantize ${opts.quantize}: ${file} is a llama2.c int8 (version 2) checkpoint: its ${m.groups.size} linear weights load quantized, ` +
        `exactly, as int8g (its own int8 codes and f32 group scales) without --quantize, and re-quantizing them to ${opts.quantize} would round ` +
        'already-rounded weights a second time. Drop --quantize (or, to quantize the weights yourself, widen the file first with ' +
        '`cola convert llama2c` and load that folder with --quantize).',
    );
  const family = modelFamily(m.config['model_type'], file);
  const dtype: WeightDtype = opts.dtype ?? 'f32';
  const kept = new Map<string, QuantWeight>();
  const widened = new Map<string, string>();
  for (const [key, t] of m.groups) {
    const r = groupsToInt8g(t);
    if ('problem' in r) widened.set(key, r.problem);
    else kept.set(key, r.weight);
  }
  let bytes = 0;
  for (const t of m.stateDict.values()) bytes += t.data.length * (dtype === 'bf16' ? 2 : 4);
  for (const [key, t] of m.groups)
    bytes += kept.has(key) ? quantBytes('int8g', t.shape[0]!, t.shape[1]!, false, t.groupSize) : t.codes.length * 4;
  checkMemory(bytes, `${file}: loading as ${dtype}${kept.size ? ` (${kept.size} linear weights int8g)` : ''}`, opts.maxMemory);
  if (m.groups.size) (opts.warn ?? defaultWarn)(loadNote(file, m.header.groupSize, kept.size, widened));
  const shapeOf = (name: string) => (m.stateDict.get(name) ?? m.groups.get(name))!.shape;
  const reader: TensorReader = {
    path: file,
    names: () => [...m.stateDict.keys(), ...m.groups.keys()],
    shape: shapeOf,
    read: (name, as, backend) => {
      const g = m.groups.get(name);
      const values = g ? widenGroups(g) : m.stateDict.get(name)!.data;
      const storage = backend.alloc(as, values.length) as Float32Array | Uint16Array;
      storage.set(as === 'bf16' ? f32ToBf16(values) : values);
      return storage;
    },
    readQuantized: (name) => kept.get(name) ?? null,
  };
  return buildFromCheckpoint({ family, config: m.config, reader, dtype, backend: opts.backend, quantize: opts.quantize, origin: file });
}

function loadNote(file: string, groupSize: number, kept: number, widened: Map<string, string>): string {
  const parts = [];
  if (kept)
    parts.push(
      `${kept} linear weights stay quantized, exactly, as cola's int8g (the file's int8 codes and group-of-${groupSize} f32 scales)`,
    );
  const why = [...new Set(widened.values())];
  if (why.length)
    parts.push(
      `widened exactly to f32: ${[...widened.keys()].slice(0, 3).join(', ')}${widened.size > 3 ? ` (+${widened.size - 3} more)` : ''} (${why.join('; ')})`,
    );
  parts.push('the embedding is widened exactly');
  return `note: ${file} (llama2.c int8): ${parts.join('; ')}`;
}

const defaultWarn = (msg: string) => process.stderr.write(`cola: ${msg}\n`);
