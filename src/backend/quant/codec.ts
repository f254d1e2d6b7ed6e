/** Quantize and dequantize (issue 17): the numbers every kernel must reproduce. Each
 * format's rounding follows its origin: q8_0 and q4_0 ggml's reference quantizers
 * (quantize_row_q8_0_ref, quantize_row_q4_0_ref, f32 arithmetic), nf4 bitsandbytes'
 * nearest level, int8 round-to-nearest of absmax / 127. Layouts: format.ts. */
import { floatToHalf, halfToFloat } from '../../io/floatBits.js';
import { blocksPerRow, NF4_LEVELS, quantLayout, rowBytes, scaleCount, type QuantFormat, type QuantWeight } from './format.js';

const f = Math.fround;

/** W [rows, cols] (row-major f32) in `format`. */
export function quantize(values: Float32Array, rows: number, cols: number, format: QuantFormat): QuantWeight {
  if (values.length !== rows * cols) throw new RangeError(`quantize: ${values.length} values are not ${rows} x ${cols}`);
  const data = new Uint8Array(rows * rowBytes(format, cols));
  const n = scaleCount(format, rows, cols);
  const scales = n ? new Float32Array(n) : null;
  const nb = blocksPerRow(format, cols);
  const { block, blockBytes } = quantLayout(format, cols);
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
  return { format, rows, cols, data, scales };
}

/** dequant(W) [rows, cols] as f32, into `out` (allocated when absent). */
export function dequantize(w: QuantWeight, out = new Float32Array(w.rows * w.cols)): Float32Array {
  dequantizeRows(w, 0, w.rows, out);
  return out;
}

/** Rows [r0, r0 + count) of dequant(W) into out [count, cols]. */
export function dequantizeRows(w: QuantWeight, r0: number, count: number, out: Float32Array): void {
  const { format, cols } = w;
  const nb = blocksPerRow(format, cols);
  const { block, blockBytes } = quantLayout(format, cols);
  const buf = new Float32Array(block);
  for (let r = r0; r < r0 + count; r++) {
    for (let b = 0; b < nb; b++) {
      const scale = w.scales ? w.scales[r * nb + b]! : 0;
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

function absmax(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

function writeHalf(data: Uint8Array, at: number, v: number): void {
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

const quantizeInt8: BlockQuantizer = (x, data, at) => {
  const d = f(absmax(x) / 127);
  const id = d ? f(1 / d) : 0;
  for (let i = 0; i < x.length; i++) data[at + i] = roundHalfAway(f(x[i]! * id)) & 0xff;
  return d;
};

const dequantizeInt8: BlockDequantizer = (data, at, scale, out) => {
  for (let i = 0; i < out.length; i++) out[i] = f(((data[at + i]! << 24) >> 24) * scale);
};

const quantizeQ8_0: BlockQuantizer = (x, data, at) => {
  const d = f(absmax(x) / 127);
  const id = d ? f(1 / d) : 0;
  writeHalf(data, at, d);
  for (let i = 0; i < 32; i++) data[at + 2 + i] = roundHalfAway(f(x[i]! * id)) & 0xff;
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
    const q0 = Math.min(15, Math.trunc(f(f(x[j]! * id) + 8.5)));
    const q1 = Math.min(15, Math.trunc(f(f(x[16 + j]! * id) + 8.5)));
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
function nearestNf4(v: number): number {
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

const BLOCK_QUANTIZERS: Record<QuantFormat, BlockQuantizer> = {
  int8: quantizeInt8,
  nf4: quantizeNf4,
  q8_0: quantizeQ8_0,
  q4_0: quantizeQ4_0,
};

const BLOCK_DEQUANTIZERS: Record<QuantFormat, BlockDequantizer> = {
  int8: dequantizeInt8,
  nf4: dequantizeNf4,
  q8_0: dequantizeQ8_0,
  q4_0: dequantizeQ4_0,
};
