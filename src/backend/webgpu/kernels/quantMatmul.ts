// The product with a quantized frozen weight W [rows, cols] (issue 17), W dequantized
// inside the tiled matmul's B loads (matmul.ts), so W never exists in f32 on the GPU:
// 'forward' out [m, rows] = x W^T (op(B)[kk, j] = W[j, kk]), 'inputGrad' out [m, cols]
// = x W (op(B)[kk, j] = W[kk, j]). Each element decodes exactly as quant/codec.ts's
// dequantizers (one f32 product code * scale, f16 scales decoded bit-exactly), so
// only the summation order differs from the reference (dequantize all, then f32 GEMM).
// The codes arrive as the weight's bytes packed 4 a u32 word (little-endian), the
// f32 scales (int8: one a row; nf4: one a block of 64) as a second array.
// Block layouts: quant/format.ts.

import { NF4_LEVELS, type QuantFormat, type QuantWeight } from '../../quant/format.js';
import { Params, type Kernel } from '../device.js';
import { tiledMatmul } from './matmul.js';
import type { Launcher } from './types.js';

/** The formats decoded here, by their code in P[12]; another format (one added to
 * quant/format.ts later) is computed by the client on the CPU, never misread. */
export const WGSL_QUANT_FORMATS: readonly QuantFormat[] = ['int8', 'nf4', 'q8_0', 'q4_0'];

const WEIGHT_FIELDS = new Set(['format', 'rows', 'cols', 'data', 'scales']);

/** Whether the WGSL decoder reads `w` exactly as quant/codec.ts does: a format it
 * knows, and no field beyond those it reads (a later variant of a format, e.g. one
 * with quantized scales, adds a field and goes to the CPU path instead). */
export function decodesInWgsl(w: QuantWeight): boolean {
  return WGSL_QUANT_FORMATS.includes(w.format) && Object.keys(w).every((k) => WEIGHT_FIELDS.has(k));
}

const f32Bits = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0]!;

// P = [M, N, K, 0, transB (1: forward), 0, 0, alpha 1, beta, hasBias 0, cols, blocksPerRow, format]
const LOAD_B_QUANT = /* wgsl */ `
var<private> NF4: array<u32, 16> = array<u32, 16>(${NF4_LEVELS.map((v) => `${f32Bits(v)}u`).join(', ')});
fn byteAt(o: u32) -> u32 { return (Wd[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }
fn int8At(o: u32) -> f32 { return f32(bitcast<i32>(byteAt(o) << 24u) >> 24u); }
// IEEE half at byte o (little-endian) as f32, exactly (subnormals, inf, NaN too)
fn halfAt(o: u32) -> f32 {
  let h = byteAt(o) | (byteAt(o + 1u) << 8u);
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let frac = h & 0x3ffu;
  if (e == 0u) { return bitcast<f32>(sign | bitcast<u32>(f32(frac) * 5.9604644775390625e-8)); }
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (frac << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (frac << 13u));
}
// W[r, c] as quant/codec.ts decodes it
fn deq(r: u32, c: u32) -> f32 {
  let cols = pu(10);
  let nb = pu(11);
  switch pu(12) {
    case 0u: { return int8At(r * cols + c) * Ws[r]; }
    case 1u: {
      let blk = r * nb + c / 64u;
      let j = c % 64u;
      let byte = byteAt(blk * 32u + j / 2u);
      let q = select(byte & 15u, byte >> 4u, (j & 1u) == 0u); // first element in the high nibble
      return bitcast<f32>(NF4[q]) * Ws[blk];
    }
    case 2u: {
      let at = (r * nb + c / 32u) * 34u;
      return int8At(at + 2u + c % 32u) * halfAt(at);
    }
    default: {
      let at = (r * nb + c / 32u) * 18u;
      let j = c % 32u;
      let byte = byteAt(at + 2u + j % 16u);
      let q = select(byte >> 4u, byte & 15u, j < 16u); // element j < 16 in the low nibble
      return f32(i32(q) - 8) * halfAt(at);
    }
  }
}
fn loadB(base: u32, kk: u32, j: u32) -> f32 {
  if (j >= pu(1) || kk >= pu(2)) { return 0.0; }
  if (pu(4) != 0u) { return deq(j, kk); }
  return deq(kk, j);
}`;

const QUANT_MATMUL: Kernel = tiledMatmul(LOAD_B_QUANT, ['A', 'Wd:u32', 'C', 'bias', 'Ws']);

export const quantMatmulKernels: Record<string, Launcher> = {
  // bufs: x, codes (u32 words), out, scales (a stand-in when the format keeps them inline)
  quantMatmul: ({ call, p, bufs }) => {
    const [x, codes, out] = bufs;
    const scales = p.hasScales ? bufs[3]! : call.scratch(4);
    const format = WGSL_QUANT_FORMATS.indexOf(p.format);
    if (format < 0) throw new Error(`quantMatmul: no WGSL decoder for ${p.format}`);
    const forward = p.mode === 'forward';
    const [n, k] = forward ? [p.rows, p.cols] : [p.cols, p.rows];
    const params = new Params()
      .u(p.m)
      .u(n)
      .u(k)
      .u(0)
      .u(forward ? 1 : 0)
      .u(0)
      .u(0)
      .f(1)
      .f(p.beta)
      .u(0)
      .u(p.cols)
      .u(p.blocksPerRow)
      .u(format);
    call.dispatch(QUANT_MATMUL, params, [x!, codes!, out!, call.scratch(4), scales], [Math.ceil(n / 64), Math.ceil(p.m / 64), 1]);
  },
};
