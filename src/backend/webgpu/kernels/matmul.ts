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
import type { Launcher } from './types.js';

// P = [M, N, K, transA, transB, aBatchStride, bBatchStride, alpha, beta, hasBias]
const MATMUL: Kernel = {
  arrays: ['A', 'B', 'C', 'bias'],
  code: /* wgsl */ `
var<workgroup> As: array<f32, 1024>; // [16 k][64 rows]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 cols]

fn loadA(base: u32, i: u32, kk: u32) -> f32 {
  if (i >= pu(0) || kk >= pu(2)) { return 0.0; }
  if (pu(3) != 0u) { return A[base + kk * pu(0) + i]; }
  return A[base + i * pu(2) + kk];
}
fn loadB(base: u32, kk: u32, j: u32) -> f32 {
  if (j >= pu(1) || kk >= pu(2)) { return 0.0; }
  if (pu(4) != 0u) { return B[base + j * pu(2) + kk]; }
  return B[base + kk * pu(1) + j];
}

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
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let kk = idx / 64u;
      let x = idx % 64u;
      As[idx] = loadA(aBase, row0 + x, k0 + kk);
      Bs[idx] = loadB(bBase, k0 + kk, col0 + x);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = vec4<f32>(As[kk * 64u + lid.y * 4u], As[kk * 64u + lid.y * 4u + 1u], As[kk * 64u + lid.y * 4u + 2u], As[kk * 64u + lid.y * 4u + 3u]);
      let b = vec4<f32>(Bs[kk * 64u + lid.x * 4u], Bs[kk * 64u + lid.x * 4u + 1u], Bs[kk * 64u + lid.x * 4u + 2u], Bs[kk * 64u + lid.x * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r * 4u] += a[r] * b.x;
        acc[r * 4u + 1u] += a[r] * b.y;
        acc[r * 4u + 2u] += a[r] * b.z;
        acc[r * 4u + 3u] += a[r] * b.w;
      }
    }
    workgroupBarrier();
  }
  let alpha = pf(7);
  let beta = pf(8);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + lid.y * 4u + r;
    if (i >= M) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + lid.x * 4u + c;
      if (j >= N) { continue; }
      let at = batch * M * N + i * N + j;
      var v = alpha * acc[r * 4u + c];
      if (pu(9) != 0u) { v += bias[j]; }
      if (beta != 0.0) { v += beta * C[at]; }
      C[at] = v;
    }
  }
}`,
};

export const matmulKernels: Record<string, Launcher> = {
  matmul: ({ call, p, bufs }) => {
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
    call.dispatch(MATMUL, params, [a!, b!, c!, bias], [Math.ceil(p.n / 64), Math.ceil(p.m / 64), p.batch]);
  },
};
