// The timing side of bench/webgpuMatmul.ts (in the page, or in Node over Dawn's GPU
// object with --node): times the WGSL matmul kernel alone (no uploads or readback:
// operands stay on the GPU), `repeats` dispatches per submit (3, more on a fast
// adapter so a round lasts >= 0.1 s), on every distinct adapter it gets
// (high-performance, low-power, fallback: a real GPU where there is one, SwiftShader
// here), the current kernel and the session-5 one (the baseline of the vec4 panels),
// one JSON row each.

import { GpuCall, GpuRunner, Params, type Kernel } from '../src/backend/webgpu/device.js';
import type { GpuAdapter, GpuNavigator } from '../src/backend/webgpu/gpuTypes.js';
import { MATMUL, TILED_STORE, tiledMatmulFrom } from '../src/backend/webgpu/kernels/matmul.js';

export interface MatmulRow {
  adapter: string;
  features: string[];
  kernel: string;
  m: number;
  n: number;
  k: number;
  transB: boolean;
  repeats: number;
  seconds: number[];
  gflops: number;
}

/** Session 5's main loop (scalar workgroup panels, k-major loads), kept as the baseline. */
const SESSION5: Kernel = tiledMatmulFrom(/* wgsl */ `
var<workgroup> As: array<f32, 1024>; // [16 k][64 rows]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 cols]

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
  // four vec4 accumulators, no dynamically indexed array (SwiftShader spills those to memory)
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
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
      let ai = kk * 64u + lid.y * 4u;
      let bi = kk * 64u + lid.x * 4u;
      let b = vec4<f32>(Bs[bi], Bs[bi + 1u], Bs[bi + 2u], Bs[bi + 3u]);
      acc0 += As[ai] * b;
      acc1 += As[ai + 1u] * b;
      acc2 += As[ai + 2u] * b;
      acc3 += As[ai + 3u] * b;
    }
    workgroupBarrier();
  }
  store(M, N, batch, row0 + lid.y * 4u, col0 + lid.x * 4u, acc0);
  store(M, N, batch, row0 + lid.y * 4u + 1u, col0 + lid.x * 4u, acc1);
  store(M, N, batch, row0 + lid.y * 4u + 2u, col0 + lid.x * 4u, acc2);
  store(M, N, batch, row0 + lid.y * 4u + 3u, col0 + lid.x * 4u, acc3);
}`);

type Shape = readonly [number, number, number, boolean];
const SHAPES: readonly Shape[] = [
  [256, 256, 256, false],
  [512, 512, 512, false],
  [2048, 768, 768, true], // a linear layer: x [tokens, in] W^T, W [out, in]
];
/** Added on a hardware adapter (seconds a product on SwiftShader). */
const GPU_SHAPES: readonly Shape[] = [[4096, 4096, 4096, false]];

export interface BenchOptions {
  /** only the first shape (256^3): a check that the bench runs, in seconds */
  quick: boolean;
}

function describeAdapter(adapter: GpuAdapter): string {
  const i = adapter.info;
  if (!i) return 'unknown adapter';
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' / ') || 'unknown adapter';
}

async function benchAdapter(adapter: GpuAdapter, name: string, o: BenchOptions): Promise<MatmulRow[]> {
  const device = await adapter.requestDevice();
  const runner = new GpuRunner(device);
  const rows: MatmulRow[] = [];
  const software = /swiftshader/i.test(name);
  const shapes = o.quick ? SHAPES.slice(0, 1) : software ? SHAPES : [...SHAPES, ...GPU_SHAPES];
  for (const [m, n, k, transB] of shapes) {
    const a = runner.upload(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)) as unknown as Uint32Array, m * k);
    const b = runner.upload(Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)) as unknown as Uint32Array, k * n);
    const c = runner.upload(null, m * n);
    const bias = runner.upload(null, 4);
    const params = new Params()
      .u(m)
      .u(n)
      .u(k)
      .u(0)
      .u(transB ? 1 : 0)
      .u(0)
      .u(0)
      .f(1)
      .f(0)
      .u(0);
    const groups: [number, number, number] = [Math.ceil(n / 64), Math.ceil(m / 64), 1];
    for (const [kernelName, kernel] of [
      ['tiled64-vec4', MATMUL],
      ['session5-tiled64', SESSION5],
    ] as const) {
      const once = async (times: number) => {
        const call = new GpuCall(runner);
        for (let r = 0; r < times; r++) call.dispatch(kernel, params, [a, b, c, bias], groups);
        await call.finish([{ buffer: c, elements: 4 }]);
      };
      await once(1); // compile and warm up
      const t1 = performance.now();
      await once(1);
      const one = (performance.now() - t1) / 1000;
      // 3 a round (SwiftShader: a round of seconds); a fast GPU: enough for 0.1 s
      const repeats = Math.max(3, Math.min(1000, Math.ceil(0.1 / Math.max(one, 1e-6))));
      const seconds: number[] = [];
      for (let round = 0; round < 3; round++) {
        const t0 = performance.now();
        await once(repeats);
        seconds.push((performance.now() - t0) / 1000);
      }
      const best = Math.min(...seconds);
      rows.push({
        adapter: name,
        features: [...adapter.features],
        kernel: kernelName,
        m,
        n,
        k,
        transB,
        repeats,
        seconds,
        gflops: (2 * m * n * k * repeats) / best / 1e9,
      });
    }
    for (const x of [a, b, c, bias]) x.destroy();
  }
  return rows;
}

/** Times the kernels on every distinct adapter `gpu` gives (navigator.gpu, or Dawn's in Node). */
export async function benchMatmul(gpu: GpuNavigator['gpu'], o: BenchOptions): Promise<{ rows: MatmulRow[]; adapters: string[] }> {
  if (!gpu) throw new Error('this browser has no navigator.gpu');
  const seen = new Map<string, GpuAdapter>();
  for (const opts of [{ powerPreference: 'high-performance' }, { powerPreference: 'low-power' }, { forceFallbackAdapter: true }]) {
    const adapter = await gpu.requestAdapter(opts).catch(() => null);
    if (adapter && !seen.has(describeAdapter(adapter))) seen.set(describeAdapter(adapter), adapter);
  }
  if (seen.size === 0) throw new Error('no WebGPU adapter');
  const rows: MatmulRow[] = [];
  for (const [name, adapter] of seen) rows.push(...(await benchAdapter(adapter, name, o)));
  return { rows, adapters: [...seen.keys()] };
}

// in the page (bundled by webgpuMatmul.ts); Node imports benchMatmul only
if (typeof window !== 'undefined') {
  const w = window as unknown as { benchResult?: unknown };
  const quick = new URL(location.href).searchParams.has('quick');
  benchMatmul((navigator as unknown as GpuNavigator).gpu, { quick }).then(
    (r) => (w.benchResult = r),
    (e: Error) => (w.benchResult = { error: e.message }),
  );
}
