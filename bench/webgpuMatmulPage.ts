// Browser side of bench/webgpuMatmul.ts: times the WGSL matmul kernel alone (no
// uploads or readback: operands stay on the GPU), `repeats` dispatches per submit.

import { GpuCall, GpuRunner, Params } from '../src/backend/webgpu/device.js';
import type { GpuNavigator } from '../src/backend/webgpu/gpuTypes.js';
import { MATMUL } from '../src/backend/webgpu/kernels/matmul.js';

interface Row {
  m: number;
  n: number;
  k: number;
  repeats: number;
  seconds: number[];
  gflops: number;
}

async function main(): Promise<{ adapter: string; rows: Row[] }> {
  const adapter = await (navigator as unknown as GpuNavigator).gpu!.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const runner = new GpuRunner(device);
  const rows: Row[] = [];
  for (const [m, n, k] of [
    [256, 256, 256],
    [512, 512, 512],
    [2048, 768, 768],
  ] as const) {
    const a = runner.upload(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)) as unknown as Uint32Array, m * k);
    const b = runner.upload(Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)) as unknown as Uint32Array, k * n);
    const c = runner.upload(null, m * n);
    const bias = runner.upload(null, 4);
    const params = new Params().u(m).u(n).u(k).u(0).u(0).u(0).u(0).f(1).f(0).u(0);
    const groups: [number, number, number] = [Math.ceil(n / 64), Math.ceil(m / 64), 1];
    const once = async (times: number) => {
      const call = new GpuCall(runner);
      for (let r = 0; r < times; r++) call.dispatch(MATMUL, params, [a, b, c, bias], groups);
      await call.finish([{ buffer: c, elements: 4 }]);
    };
    await once(1); // compile and warm up
    const repeats = 3;
    const seconds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      await once(repeats);
      seconds.push((performance.now() - t0) / 1000);
    }
    const best = Math.min(...seconds);
    rows.push({ m, n, k, repeats, seconds, gflops: (2 * m * n * k * repeats) / best / 1e9 });
    for (const x of [a, b, c, bias]) x.destroy();
  }
  const info = adapter.info;
  return { adapter: info ? `${info.vendor} ${info.architecture}` : 'unknown', rows };
}

const w = window as unknown as { benchResult?: unknown };
main().then(
  (r) => (w.benchResult = r),
  (e: Error) => (w.benchResult = { error: e.message }),
);
