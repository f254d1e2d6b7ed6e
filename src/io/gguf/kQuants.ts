/** Dequantization of ggml's K-quants (super-blocks of QK_K = 256 values; layouts from
 * ggml-common.h, arithmetic as ggml-quants.c's dequantize_row_*, in float32). cola reads
 * these as float32 weights and never writes them: a K-quant file becomes an f32 model
 * (the loader prints a note saying so). */
import { f16ToF32 } from '../floatBits.js';

const QK_K = 256;
const f = Math.fround;
const half = new Uint16Array(1);
const halfAt = (b: Uint8Array, at: number): number => {
  half[0] = b[at] | (b[at + 1] << 8);
  return f16ToF32(half)[0];
};

export function dequantizeKQuant(typeName: string, bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const blocks = n / QK_K;
  const run = BLOCK_DECODERS[typeName];
  if (!run) throw new Error(`dequantizeKQuant: no decoder for ${typeName}`);
  for (let i = 0; i < blocks; i++) run(bytes, i, out, i * QK_K);
  return out;
}

type BlockDecoder = (b: Uint8Array, block: number, y: Float32Array, at: number) => void;

/** The 6-bit scale and min of sub-block j, packed 8 + 8 into 12 bytes (get_scale_min_k4). */
function scaleMin(s: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [s[at + j] & 63, s[at + j + 4] & 63];
  return [(s[at + j + 4] & 0x0f) | ((s[at + j - 4] >> 6) << 4), (s[at + j + 4] >> 4) | ((s[at + j] >> 6) << 4)];
}

/** block_q4_K: f16 d, f16 dmin, scales[12], qs[128]; 8 sub-blocks of 32, x = d*sc*q - dmin*m. */
const q4K: BlockDecoder = (b, block, y, at) => {
  const base = block * 144;
  const d = halfAt(b, base);
  const dmin = halfAt(b, base + 2);
  const scales = base + 4;
  let q = base + 16;
  for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
    const [sc1, m1] = scaleMin(b, scales, is);
    const [sc2, m2] = scaleMin(b, scales, is + 1);
    const [d1, mm1, d2, mm2] = [f(d * sc1), f(dmin * m1), f(d * sc2), f(dmin * m2)];
    for (let l = 0; l < 32; l++) y[at + j + l] = f(d1 * (b[q + l] & 0x0f)) - mm1;
    for (let l = 0; l < 32; l++) y[at + j + 32 + l] = f(d2 * (b[q + l] >> 4)) - mm2;
  }
};

/** block_q5_K: as q4_K plus qh[32], the fifth bit of each value. */
const q5K: BlockDecoder = (b, block, y, at) => {
  const base = block * 176;
  const d = halfAt(b, base);
  const dmin = halfAt(b, base + 2);
  const scales = base + 4;
  const qh = base + 16;
  let ql = base + 48;
  let u1 = 1;
  let u2 = 2;
  for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
    const [sc1, m1] = scaleMin(b, scales, is);
    const [sc2, m2] = scaleMin(b, scales, is + 1);
    const [d1, mm1, d2, mm2] = [f(d * sc1), f(dmin * m1), f(d * sc2), f(dmin * m2)];
    for (let l = 0; l < 32; l++) y[at + j + l] = f(d1 * ((b[ql + l] & 0x0f) + (b[qh + l] & u1 ? 16 : 0))) - mm1;
    for (let l = 0; l < 32; l++) y[at + j + 32 + l] = f(d2 * ((b[ql + l] >> 4) + (b[qh + l] & u2 ? 16 : 0))) - mm2;
  }
};

/** block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d; 16
 * sub-blocks of 16, x = d * scale * (q - 32). */
const q6K: BlockDecoder = (b, block, y, at) => {
  const base = block * 210;
  const d = halfAt(b, base + 208);
  const sc = (k: number) => (b[base + 192 + k] << 24) >> 24; // int8
  for (let n = 0, ql = base, qh = base + 128, s = 0; n < QK_K; n += 128, ql += 64, qh += 32, s += 8) {
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const q1 = ((b[ql + l] & 0x0f) | (((b[qh + l] >> 0) & 3) << 4)) - 32;
      const q2 = ((b[ql + l + 32] & 0x0f) | (((b[qh + l] >> 2) & 3) << 4)) - 32;
      const q3 = ((b[ql + l] >> 4) | (((b[qh + l] >> 4) & 3) << 4)) - 32;
      const q4 = ((b[ql + l + 32] >> 4) | (((b[qh + l] >> 6) & 3) << 4)) - 32;
      y[at + n + l] = f(d * sc(s + is)) * q1;
      y[at + n + l + 32] = f(d * sc(s + is + 2)) * q2;
      y[at + n + l + 64] = f(d * sc(s + is + 4)) * q3;
      y[at + n + l + 96] = f(d * sc(s + is + 6)) * q4;
    }
  }
};

/** block_q8_K: f32 d, int8 qs[256], int16 bsums[16] (sums, unused here). */
const q8K: BlockDecoder = (b, block, y, at) => {
  const base = block * 292;
  const d = new DataView(b.buffer, b.byteOffset + base, 4).getFloat32(0, true);
  for (let j = 0; j < QK_K; j++) y[at + j] = d * ((b[base + 4 + j] << 24) >> 24);
};

const BLOCK_DECODERS: Record<string, BlockDecoder> = { Q4_K: q4K, Q5_K: q5K, Q6_K: q6K, Q8_K: q8K };
