/** Quantize and dequantize (issue 17): the numbers every kernel must reproduce. Each
 * format's rounding follows its origin: q8_0 and q4_0 ggml's reference quantizers
 * (quantize_row_q8_0_ref, quantize_row_q4_0_ref, f32 arithmetic), nf4 bitsandbytes'
 * nearest level, int8 (and int8g, per group) round-to-nearest of absmax / 127. Layouts:
 * format.ts. */
import { floatToHalf, halfToFloat } from '../../io/floatBits.js';
import {
  blocksPerRow,
  checkGroupSize,
  DOUBLE_QUANT_GROUP,
  INT8G_DEFAULT_GROUP,
  NF4_LEVELS,
  quantLayout,
  rowBytes,
  scaleCount,
  type DoubleQuantScales,
  type QuantFormat,
  type QuantizeOptions,
  type QuantWeight,
} from './format.js';

const f = Math.fround;

/** W [rows, cols] (row-major f32) in `format`. NaN and infinities are refused (they
 * would poison a whole block's scale). `opts.doubleQuant` (nf4) double-quantizes the
 * block scales (doubleQuantize). Backend.quantize gives the same bytes, faster. */
export function quantize(values: Float32Array, rows: number, cols: number, format: QuantFormat, opts: QuantizeOptions = {}): QuantWeight {
  if (values.length !== rows * cols) throw new RangeError(`quantize: ${values.length} values are not ${rows} x ${cols}`);
  checkQuantizeOptions(format, opts);
  refuseNonFinite(values, cols);
  const group = groupSizeOf(format, opts);
  const data = new Uint8Array(rows * rowBytes(format, cols, group));
  const n = scaleCount(format, rows, cols, group);
  const scales = n ? new Float32Array(n) : null;
  const nb = blocksPerRow(format, cols, group);
  const { block, blockBytes } = quantLayout(format, cols, group);
  const buf = new Float32Array(block); // one block, zero-padded past the row's end
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const start = r * cols + b * block;
      const len = Math.min(block, cols - b * block);
      buf.fill(0);
      buf.set(values.subarray(start, start + len));
      const at = (r * nb + b) * blockBytes;
      const scale = BLOCK_QUANTIZERS[format](buf, data, at);
      if (scales) scales[r * nb + b] = scale;
    }
  }
  const w: QuantWeight =
    group === undefined ? { format, rows, cols, data, scales } : { format, rows, cols, groupSize: group, data, scales };
  return opts.doubleQuant ? withDoubleQuant(w) : w;
}

/** Throws unless `opts` fits `format` (double quantization is for nf4's scales, a group
 * size for int8g). */
export function checkQuantizeOptions(format: QuantFormat, opts: QuantizeOptions): void {
  if (opts.doubleQuant && format !== 'nf4')
    throw new RangeError(`quantize: double quantization applies to nf4's block scales, not to ${format} (drop it or use nf4)`);
  checkGroupSize(format, groupSizeOf(format, opts), 'quantize');
}

/** int8g's group (opts.groupSize, default INT8G_DEFAULT_GROUP); undefined for other
 * formats unless opts gives one (checkQuantizeOptions refuses that). */
export function groupSizeOf(format: QuantFormat, opts: QuantizeOptions): number | undefined {
  return format === 'int8g' ? (opts.groupSize ?? INT8G_DEFAULT_GROUP) : opts.groupSize;
}

/** Throws on the first NaN or infinity (row-major order), naming its row and column. */
export function refuseNonFinite(values: Float32Array, cols: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0)
      throw new RangeError(
        `quantize: the value at row ${Math.floor(i / cols)}, column ${i % cols} is ${v}: a weight with NaN or infinity cannot be quantized (the model file is damaged)`,
      );
  }
}

/** `w` (nf4, single-quantized) with its block scales double-quantized (QLoRA §3):
 * offset = the f64 mean of the scales (summed in order) as f32; each group of 256
 * consecutive scales s - offset (f32) gets a factor d = absmax / 127 and int8 codes
 * round-half-away((s - offset) / d), as the int8 format. */
export function withDoubleQuant(w: QuantWeight): QuantWeight {
  if (w.format !== 'nf4' || !w.scales) throw new RangeError(`withDoubleQuant: needs a single-quantized nf4 weight, got ${w.format}`);
  return { ...w, scales: null, doubleQuant: doubleQuantize(w.scales) };
}

export function doubleQuantize(scales: Float32Array): DoubleQuantScales {
  let sum = 0;
  for (let i = 0; i < scales.length; i++) sum += scales[i]!;
  const offset = f(scales.length ? sum / scales.length : 0);
  const codes = new Int8Array(scales.length);
  const factors = new Float32Array(Math.ceil(scales.length / DOUBLE_QUANT_GROUP));
  for (let g = 0; g < factors.length; g++) {
    const start = g * DOUBLE_QUANT_GROUP;
    const end = Math.min(scales.length, start + DOUBLE_QUANT_GROUP);
    let amax = 0;
    for (let i = start; i < end; i++) amax = Math.max(amax, Math.abs(f(scales[i]! - offset)));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    factors[g] = d;
    for (let i = start; i < end; i++) codes[i] = int8Code(f(f(scales[i]! - offset) * id));
  }
  return { codes, factors, offset };
}

/** The f32 block scales a kernel applies: `scales`, or the double-quantized ones
 * decoded (fround(fround(code * factor) + offset)); null for inline-scale formats. */
export function blockScales(w: QuantWeight): Float32Array | null {
  const dq = w.doubleQuant;
  if (!dq) return w.scales;
  const out = new Float32Array(dq.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = f(f(dq.codes[i]! * dq.factors[Math.floor(i / DOUBLE_QUANT_GROUP)]!) + dq.offset);
  return out;
}

/** dequant(W) [rows, cols] as f32, into `out` (allocated when absent). */
export function dequantize(w: QuantWeight, out = new Float32Array(w.rows * w.cols)): Float32Array {
  dequantizeRows(w, 0, w.rows, out);
  return out;
}

/** Rows [r0, r0 + count) of dequant(W) into out [count, cols]. */
export function dequantizeRows(w: QuantWeight, r0: number, count: number, out: Float32Array): void {
  const { format, cols, groupSize } = w;
  const nb = blocksPerRow(format, cols, groupSize);
  const { block, blockBytes } = quantLayout(format, cols, groupSize);
  const buf = new Float32Array(block);
  const scales = blockScales(w);
  for (let r = r0; r < r0 + count; r++) {
    for (let b = 0; b < nb; b++) {
      const scale = scales ? scales[r * nb + b]! : 0;
      BLOCK_DEQUANTIZERS[format](w.data, (r * nb + b) * blockBytes, scale, buf);
      const len = Math.min(block, cols - b * block);
      out.set(buf.subarray(0, len), (r - r0) * cols + b * block);
    }
  }
}

/** Writes one block's bytes at data[at]; returns its f32 scale (unused when inline). */
type BlockQuantizer = (x: Float32Array, data: Uint8Array, at: number) => number;
/** Decodes one block into out (block elements). */
type BlockDequantizer = (data: Uint8Array, at: number, scale: number, out: Float32Array) => void;

/** max |x_i| (0 for an empty block). */
export function absmax(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** v as an IEEE half at data[at] (little-endian), a block scale of the GGUF formats. */
export function writeHalf(data: Uint8Array, at: number, v: number): void {
  const h = floatToHalf(v);
  data[at] = h & 0xff;
  data[at + 1] = h >>> 8;
}

function readHalf(data: Uint8Array, at: number): number {
  return halfToFloat(data[at]! | (data[at + 1]! << 8));
}

/** C's roundf: halves away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
}

/** An int8 code of v = x / d: round half away, clamped to ±127. Ordinary blocks never
 * reach the clamp; it defines what ggml's C leaves undefined when d is subnormal and
 * 1 / d overflows to infinity (x * id = ±inf: the extreme code; 0 * inf = NaN: zero). */
export function int8Code(v: number): number {
  return v !== v ? 0 : Math.max(-127, Math.min(127, roundHalfAway(v)));
}

/** A q4_0 code of v = x / d + 8.5: truncated into [0, 15] (ggml's MIN(15, (int8_t)v));
 * NaN (0 * inf, for a subnormal d) is the zero code 8. */
export function q4Code(v: number): number {
  return v !== v ? 8 : Math.max(0, Math.min(15, Math.trunc(v)));
}

const quantizeInt8: BlockQuantizer = (x, data, at) => {
  const d = f(absmax(x) / 127);
  const id = d ? f(1 / d) : 0;
  for (let i = 0; i < x.length; i++) data[at + i] = int8Code(f(x[i]! * id)) & 0xff;
  return d;
};

const dequantizeInt8: BlockDequantizer = (data, at, scale, out) => {
  for (let i = 0; i < out.length; i++) out[i] = f(((data[at + i]! << 24) >> 24) * scale);
};

const quantizeQ8_0: BlockQuantizer = (x, data, at) => {
  const d = f(absmax(x) / 127);
  const id = d ? f(1 / d) : 0;
  writeHalf(data, at, d);
  for (let i = 0; i < 32; i++) data[at + 2 + i] = int8Code(f(x[i]! * id)) & 0xff;
  return 0;
};

const dequantizeQ8_0: BlockDequantizer = (data, at, _scale, out) => {
  const d = readHalf(data, at);
  for (let i = 0; i < 32; i++) out[i] = f(((data[at + 2 + i]! << 24) >> 24) * d);
};

const quantizeQ4_0: BlockQuantizer = (x, data, at) => {
  let amax = 0;
  let max = 0; // the signed value of largest magnitude (the first one on ties)
  for (let i = 0; i < 32; i++) {
    if (amax < Math.abs(x[i]!)) {
      amax = Math.abs(x[i]!);
      max = x[i]!;
    }
  }
  const d = f(max / -8);
  const id = d ? f(1 / d) : 0;
  writeHalf(data, at, d);
  for (let j = 0; j < 16; j++) {
    const q0 = q4Code(f(f(x[j]! * id) + 8.5));
    const q1 = q4Code(f(f(x[16 + j]! * id) + 8.5));
    data[at + 2 + j] = q0 | (q1 << 4);
  }
  return 0;
};

const dequantizeQ4_0: BlockDequantizer = (data, at, _scale, out) => {
  const d = readHalf(data, at);
  for (let j = 0; j < 16; j++) {
    const byte = data[at + 2 + j]!;
    out[j] = f(((byte & 15) - 8) * d);
    out[16 + j] = f(((byte >>> 4) - 8) * d);
  }
};

/** Index of the NF4 level nearest to v in [-1, 1] (midpoints, as bitsandbytes' tree). */
export function nearestNf4(v: number): number {
  let q = 0;
  while (q < 15 && v > (NF4_LEVELS[q]! + NF4_LEVELS[q + 1]!) / 2) q++;
  return q;
}

const quantizeNf4: BlockQuantizer = (x, data, at) => {
  const amax = f(absmax(x));
  const inv = amax ? 1 / amax : 0;
  for (let j = 0; j < 32; j++) data[at + j] = (nearestNf4(x[2 * j]! * inv) << 4) | nearestNf4(x[2 * j + 1]! * inv);
  return amax;
};

const NF4_F32 = Float32Array.from(NF4_LEVELS);

const dequantizeNf4: BlockDequantizer = (data, at, scale, out) => {
  for (let j = 0; j < 32; j++) {
    const byte = data[at + j]!;
    out[2 * j] = f(NF4_F32[byte >>> 4]! * scale);
    out[2 * j + 1] = f(NF4_F32[byte & 15]! * scale);
  }
};

// int8g is int8 with a block of groupSize values instead of a whole row
const BLOCK_QUANTIZERS: Record<QuantFormat, BlockQuantizer> = {
  int8: quantizeInt8,
  int8g: quantizeInt8,
  nf4: quantizeNf4,
  q8_0: quantizeQ8_0,
  q4_0: quantizeQ4_0,
};

const BLOCK_DEQUANTIZERS: Record<QuantFormat, BlockDequantizer> = {
  int8: dequantizeInt8,
  int8g: dequantizeInt8,
  nf4: dequantizeNf4,
  q8_0: dequantizeQ8_0,
  q4_0: dequantizeQ4_0,
};
