/** Tensor data codecs for GGUF, in ggml's own block layouts (ggml-common.h), so the bytes
 * read are the bytes written: F32, F16, BF16 are plain arrays; Q8_0 is blocks of
 * {f16 d, int8 q[32]} with x = d * q; Q4_0 is blocks of {f16 d, uint8 qs[16]} where value
 * j < 16 is the low nibble of qs[j] and value j + 16 its high nibble, x = d * (nibble - 8).
 * The quantizers follow ggml's reference ones (quantize_row_q8_0_ref, quantize_row_q4_0_ref)
 * in float32 arithmetic, so cola writes the blocks llama.cpp would. Kept apart from cola's
 * own quantized-weight type (issue 17) so the two can be unified knowingly. */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../floatBits.js';
import { dequantizeKQuant } from './kQuants.js';
import type { GgmlTypeInfo } from './ggufTypes.js';

const QK = 32;

/** Decode `n` values stored as `type` into float32 (blocks are one flat stream). */
export function decodeGguf(type: GgmlTypeInfo, bytes: Uint8Array, n: number): Float32Array {
  switch (type.name) {
    case 'F32':
      return new Float32Array(bytes.slice(0, 4 * n).buffer);
    case 'F16':
      return f16ToF32(u16(bytes, n));
    case 'BF16':
      return bf16ToF32(u16(bytes, n));
    case 'Q8_0':
      return dequantizeQ8_0(bytes, n);
    case 'Q4_0':
      return dequantizeQ4_0(bytes, n);
    default:
      return dequantizeKQuant(type.name, bytes, n);
  }
}

/** Encode float32 values as `type` (F32, F16, BF16, Q8_0, Q4_0). */
export function encodeGguf(type: GgmlTypeInfo, values: Float32Array): Uint8Array {
  switch (type.name) {
    case 'F32':
      return new Uint8Array(values.slice().buffer);
    case 'F16':
      return new Uint8Array(f32ToF16(values).buffer);
    case 'BF16':
      return new Uint8Array(f32ToBf16(values).buffer);
    case 'Q8_0':
      return quantizeQ8_0(values);
    case 'Q4_0':
      return quantizeQ4_0(values);
    default:
      throw new Error(`encodeGguf: cola does not write ${type.name}`);
  }
}

function u16(bytes: Uint8Array, n: number): Uint16Array {
  return new Uint16Array(bytes.slice(0, 2 * n).buffer);
}

const half = new Uint16Array(1);
const halfAsF32 = (bits: number): number => {
  half[0] = bits;
  return f16ToF32(half)[0];
};
/** float32 -> f16 bits, round to nearest even (GGML_FP32_TO_FP16). */
const f32AsHalf = (x: number): number => f32ToF16(Float32Array.of(x))[0];

export function dequantizeQ8_0(bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < n / QK; b++) {
    const at = b * 34;
    const d = halfAsF32(view.getUint16(at, true));
    for (let j = 0; j < QK; j++) out[b * QK + j] = d * view.getInt8(at + 2 + j);
  }
  return out;
}

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK) * 34);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    view.setUint16(b * 34, f32AsHalf(d), true);
    for (let j = 0; j < QK; j++) view.setInt8(b * 34 + 2 + j, roundAway(f(x[b * QK + j] * id)));
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let b = 0; b < n / QK; b++) {
    const at = b * 18;
    const d = halfAsF32(bytes[at] | (bytes[at + 1] << 8));
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[at + 2 + j];
      out[b * QK + j] = d * ((q & 0x0f) - 8);
      out[b * QK + j + QK / 2] = d * ((q >> 4) - 8);
    }
  }
  return out;
}

export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / QK) * 18);
  const f = Math.fround;
  for (let b = 0; b < x.length / QK; b++) {
    // the signed value of largest magnitude (the first one on ties) maps to -8
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j];
      if (amax < Math.abs(v)) [amax, max] = [Math.abs(v), v];
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    const h = f32AsHalf(d);
    out[b * 18] = h & 0xff;
    out[b * 18 + 1] = h >> 8;
    const nibble = (v: number) => Math.min(15, Math.trunc(f(f(v * id) + 8.5)));
    for (let j = 0; j < QK / 2; j++) {
      out[b * 18 + 2 + j] = nibble(x[b * QK + j]) | (nibble(x[b * QK + j + QK / 2]) << 4);
    }
  }
  return out;
}

/** C's roundf: halves away from zero (Math.round rounds -2.5 to -2). */
function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}
