// C[b] = alpha * op(A[b]) @ op(B[b]) (+ bias) + beta * C[b], f32 (bf16 operands
// arrive widened, and a bf16 product's f32 operand already rounded, by the client).
//
// Tiling: a workgroup of 16x16 threads computes a 64x64 tile of C; each thread a
// 4x4 block held in registers. Per step of 16 along K the workgroup stages a
// 64x16 panel of op(A) and a 16x64 panel of op(B) in workgroup memory (8 KiB),
// each thread loading 4 elements of each; out-of-range elements load as 0, so
// any M, N, K works. transA/transB only change the load addresses.
// Grid: (ceil(N/64), ceil(M/64), batch); batch strides of 0 broadcast A or B.

import { Params, type Kernel } from '../device.js';
import type { Launch, Launcher } from './types.js';

// P = [M, N, K, transA, transB, aBatchStride, bBatchStride, alpha, beta, hasBias, ...]
const LOAD_A = /* wgsl */ `
fn loadA(base: u32, i: u32, kk: u32) -> f32 {
  if (i >= pu(0) || kk >= pu(2)) { return 0.0; }
  if (pu(3) != 0u) { return A[base + kk * pu(0) + i]; }
  return A[base + i * pu(2) + kk];
}`;
/** op(B)[kk, j] from a plain B (bf16 arrives widened to f32). */
const LOAD_B_PLAIN = /* wgsl */ `
fn loadB(base: u32, kk: u32, j: u32) -> f32 {
  if (j >= pu(1) || kk >= pu(2)) { return 0.0; }
  if (pu(4) != 0u) { return B[base + j * pu(2) + kk]; }
  return B[base + kk * pu(1) + j];
}`;

/** The tiled kernel around a `loadB(base, kk, j) -> f32` (op(B)[kk, j], 0 outside):
 * plain storage here, a quantized weight dequantized on the fly in quantMatmul.ts. */
export function tiledMatmul(loadB: string, arrays: readonly string[]): Kernel {
  return { arrays, code: `${LOAD_A}\n${loadB}\n${TILED_MAIN}` };
}

/** A plain product around another main loop (bench/webgpuMatmulPage.ts times an older one). */
export function tiledMatmulFrom(main: string): Kernel {
  return { arrays: ['A', 'B', 'C', 'bias'], code: `${LOAD_A}\n${LOAD_B_PLAIN}\n${main}` };
}

/** The tiled kernels' epilogue: one thread's 4 outputs of a row, with alpha, bias and beta
 * (exported for the bench's baseline kernel, which differs in its main loop only). */
export const TILED_STORE = /* wgsl */ `
// C[i, j0..j0+3] = alpha * acc (+ bias) (+ beta * C)
fn store(M: u32, N: u32, batch: u32, i: u32, j0: u32, acc: vec4<f32>) {
  if (i >= M) { return; }
  for (var c = 0u; c < 4u; c++) {
    let j = j0 + c;
    if (j >= N) { return; }
    let at = batch * M * N + i * N + j;
    var v = pf(7) * acc[c];
    if (pu(9) != 0u) { v += bias[j]; }
    if (pf(8) != 0.0) { v += pf(8) * C[at]; }
    C[at] = v;
  }
}
`;

const TILED_MAIN = /* wgsl */ `
// panels in workgroup memory as vec4 (one load gives a thread its 4 rows or 4 columns)
var<workgroup> As: array<vec4<f32>, 256>; // [16 k][64 rows / 4]
var<workgroup> Bs: array<vec4<f32>, 256>; // [16 k][64 cols / 4]

${TILED_STORE}
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = pu(0);
  let N = pu(1);
  let K = pu(2);
  let batch = wid.z;
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let aBase = batch * pu(5);
  let bBase = batch * pu(6);
  let tid = lid.y * 16u + lid.x;
  // neighbouring threads read neighbouring addresses: along k where the operand is
  // contiguous in k (A plain, B transposed: a weight [out, in]), else along rows/columns
  let aAlongK = pu(3) == 0u;
  let bAlongK = pu(4) != 0u;
  // four vec4 accumulators, no dynamically indexed array (SwiftShader spills those to memory)
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let ka = select(idx / 64u, idx % 16u, aAlongK);
      let xa = select(idx % 64u, idx / 16u, aAlongK);
      As[ka * 16u + xa / 4u][xa % 4u] = loadA(aBase, row0 + xa, k0 + ka);
      let kb = select(idx / 64u, idx % 16u, bAlongK);
      let xb = select(idx % 64u, idx / 16u, bAlongK);
      Bs[kb * 16u + xb / 4u][xb % 4u] = loadB(bBase, k0 + kb, col0 + xb);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = As[kk * 16u + lid.y];
      let b = Bs[kk * 16u + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  store(M, N, batch, row0 + lid.y * 4u, col0 + lid.x * 4u, acc0);
  store(M, N, batch, row0 + lid.y * 4u + 1u, col0 + lid.x * 4u, acc1);
  store(M, N, batch, row0 + lid.y * 4u + 2u, col0 + lid.x * 4u, acc2);
  store(M, N, batch, row0 + lid.y * 4u + 3u, col0 + lid.x * 4u, acc3);
}`;

export const MATMUL: Kernel = tiledMatmul(LOAD_B_PLAIN, ['A', 'B', 'C', 'bias']);
/** B kept on the GPU as f16 (weightStorage 'f16', resident.ts): widened in the load,
 * accumulated in f32. */
export const MATMUL_F16_B: Kernel = {
  ...tiledMatmul(LOAD_B_PLAIN.replace(/return B\[(.*?)\];/g, 'return f32(B[$1]);'), ['A', 'B:f16', 'C', 'bias']),
  enable: ['f16'],
};

export const matmulKernels: Record<string, Launcher> = {
  matmul: (l) => launchMatmul(l, MATMUL),
  matmulF16B: (l) => launchMatmul(l, MATMUL_F16_B),
};

function launchMatmul({ call, p, bufs }: Launch, kernel: Kernel): void {
  const [a, b, c] = bufs;
  const bias = p.hasBias ? bufs[3]! : call.scratch(4);
  const params = new Params()
    .u(p.m)
    .u(p.n)
    .u(p.k)
    .u(p.transA ? 1 : 0)
    .u(p.transB ? 1 : 0)
    .u(p.aBatchStride)
    .u(p.bBatchStride)
    .f(p.alpha)
    .f(p.beta)
    .u(p.hasBias ? 1 : 0);
  if (p.batch > 65535) throw new Error(`matmul: batch ${p.batch} exceeds 65535 workgroups`);
  call.dispatch(kernel, params, [a!, b!, c!, bias], [Math.ceil(p.n / 64), Math.ceil(p.m / 64), p.batch]);
}
