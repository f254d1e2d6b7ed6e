/** `--model FILE.bin`: a llama2.c checkpoint loaded directly (issue 17). A version 2 file
 * stores its weights as int8 with one f32 scale per group of `group_size` values: its block
 * linear weights (q/k/v/o, gate/up/down) load quantized as cola's `q8_0`, never widened.
 *
 * The mapping keeps every int8 code and gives each 32-value block its group's scale as f16
 * (q8_0's scale type), so it needs groups of a multiple of 32 that do not cross rows. It is
 * not bit-exact: a weight q * s becomes q * f16(s), a relative change of at most 2^-11
 * (4.9e-4) per weight, the same for every weight of a group — far below the int8 rounding
 * itself (half a step, up to 1/254 of the group's absmax). The load note prints the largest
 * relative scale change of the file. Groups that do not fit (a group size not a multiple of
 * 32, rows not whole groups, a scale outside f16's normal range) are widened exactly, with
 * the reason. The embedding (and an untied classifier) are widened exactly, q * s in f32.
 * `--quantize q8_0` is the same load; another --quantize is refused (as on a Q8_0 GGUF). */
import type { Backend } from '../backend/backend.js';
import { quantBytes, type QuantFormat, type QuantWeight } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { f32ToBf16, floatToHalf, halfToFloat } from '../io/floatBits.js';
import { readLlama2c, type GroupedInt8Tensor } from '../io/llama2c.js';
import { checkMemory } from '../io/memory.js';
import type { CausalLM } from './causalLM.js';
import { modelFamily } from './registry.js';
import { CheckpointWeights, type TensorReader, type WeightDtype } from './weightSource.js';

export interface Llama2cLoadOptions {
  backend: Backend;
  dtype?: WeightDtype;
  maxMemory?: number;
  warn?: (message: string) => void;
  quantize?: QuantFormat;
}

const QK = 32;

/** A block linear weight: a 2-D `.weight` inside a numbered block. */
const isBlockLinear = (key: string) => /^model\.layers\.\d+\.(self_attn|mlp)\.[a-z_]+_proj\.weight$/.test(key);

/** The groups as q8_0 (codes kept, scales as f16), or why they cannot be. */
export function groupsToQ8_0(t: GroupedInt8Tensor): { weight: QuantWeight; maxScaleChange: number } | { problem: string } {
  const [rows, cols] = t.shape as [number, number];
  if (t.groupSize % QK !== 0) return { problem: `group_size ${t.groupSize} is not a multiple of q8_0's block of ${QK}` };
  if (cols % t.groupSize !== 0) return { problem: `rows of ${cols} values are not whole groups of ${t.groupSize}` };
  const blocksPerRow = cols / QK;
  const data = new Uint8Array(rows * blocksPerRow * 34);
  const codes = new Uint8Array(t.codes.buffer, t.codes.byteOffset, t.codes.length);
  let maxScaleChange = 0;
  for (let b = 0; b < rows * blocksPerRow; b++) {
    const s = t.scales[Math.floor((b * QK) / t.groupSize)]!;
    const h = floatToHalf(s);
    const d = halfToFloat(h);
    // f16 subnormals (|s| < 2^-14) and overflow lose more than 2^-11 relative: widen instead
    if (!Number.isFinite(d) || (s !== 0 && Math.abs(s) < 2 ** -14)) return { problem: `a group scale ${s} is outside f16's normal range` };
    if (s !== 0) maxScaleChange = Math.max(maxScaleChange, Math.abs(d - s) / Math.abs(s));
    data[b * 34] = h & 0xff;
    data[b * 34 + 1] = h >>> 8;
    data.set(codes.subarray(b * QK, (b + 1) * QK), b * 34 + 2);
  }
  return { weight: { format: 'q8_0', rows, cols, data, scales: null }, maxScaleChange };
}

/** value i = codes[i] * scales[i / groupSize] in f32, as llama2.c's runq.c dequantize(). */
function widenGroups(t: GroupedInt8Tensor): Float32Array {
  const out = new Float32Array(t.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = t.codes[i]! * t.scales[Math.floor(i / t.groupSize)]!;
  return out;
}

export function loadLlama2cModel(file: string, opts: Llama2cLoadOptions): CausalLM {
  const m = readLlama2c(file, { keepGroups: isBlockLinear });
  if (m.groups.size && opts.quantize && opts.quantize !== 'q8_0')
    throw new ColaError(
      `--quantize ${opts.quantize}: ${file} is a llama2.c int8 (version 2) checkpoint: its ${m.groups.size} linear weights load quantized as q8_0 ` +
        `(its own int8 codes) without --quantize, and re-quantizing them to ${opts.quantize} would round already-rounded weights a second time. ` +
        'Drop --quantize (or give --quantize q8_0).',
    );
  const family = modelFamily(m.config['model_type'], file);
  const dtype: WeightDtype = opts.dtype ?? 'f32';
  const kept = new Map<string, QuantWeight>();
  const widened = new Map<string, string>();
  let maxScaleChange = 0;
  for (const [key, t] of m.groups) {
    const r = groupsToQ8_0(t);
    if ('problem' in r) widened.set(key, r.problem);
    else {
      kept.set(key, r.weight);
      maxScaleChange = Math.max(maxScaleChange, r.maxScaleChange);
    }
  }
  let bytes = 0;
  for (const t of m.stateDict.values()) bytes += t.data.length * (dtype === 'bf16' ? 2 : 4);
  for (const [key, t] of m.groups) bytes += kept.has(key) ? quantBytes('q8_0', t.shape[0]!, t.shape[1]!) : t.codes.length * 4;
  checkMemory(bytes, `${file}: loading as ${dtype}${kept.size ? ` (${kept.size} linear weights q8_0)` : ''}`, opts.maxMemory);
  if (m.groups.size) (opts.warn ?? defaultWarn)(loadNote(file, m.header.groupSize, kept.size, maxScaleChange, widened));
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
  const src = new CheckpointWeights(opts.backend, reader, dtype, family.ignoredKeys?.(m.config) ?? []);
  src.quantize = opts.quantize;
  const model = family.build(m.config, src, file);
  src.finish();
  model.weightDtype = dtype;
  model.quantizeOnLoad = opts.quantize;
  return model;
}

function loadNote(file: string, groupSize: number, kept: number, maxScaleChange: number, widened: Map<string, string>): string {
  const parts = [];
  if (kept)
    parts.push(
      `${kept} linear weights stay quantized as cola's q8_0: the file's int8 codes, each group-of-${groupSize} f32 scale stored as f16 ` +
        `(largest relative scale change ${maxScaleChange.toExponential(2)}; bound 2^-11)`,
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
