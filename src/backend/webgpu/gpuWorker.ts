// The GPU worker: owns the GPUDevice and serves the client's calls (protocol.ts).
// It waits for a request with Atomics.waitAsync (its event loop must stay free:
// mapAsync resolves there), uploads the arrays, runs the kernels, reads the
// outputs back into the data buffer and wakes the client.

import { GpuCall, GpuRunner } from './device.js';
import type { GpuBuffer, GpuNavigator } from './gpuTypes.js';
import { attentionKernels } from './kernels/attention.js';
import { quantMatmulKernels } from './kernels/quantMatmul.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { matmulKernels } from './kernels/matmul.js';
import { rowKernels } from './kernels/rows.js';
import { transformerKernels } from './kernels/transformer.js';
import type { Launcher } from './kernels/types.js';
import {
  CONTROL_WORDS,
  readText,
  STATE_DONE,
  STATE_FAILED,
  STATE_CLOSE,
  STATE_REQUEST,
  writeText,
  type ReadyMessage,
  type Request,
  type StartMessage,
} from './protocol.js';

const KERNELS: Record<string, Launcher> = {
  ...elementwiseKernels,
  ...rowKernels,
  ...matmulKernels,
  ...transformerKernels,
  ...attentionKernels,
  ...quantMatmulKernels,
};

/** The worker scope's few members used here. */
interface WorkerScope {
  navigator: GpuNavigator;
  onmessage: ((e: { data: StartMessage }) => void) | null;
  postMessage(m: ReadyMessage): void;
}

/** Installs the message handler of a GPU worker (gpuWorkerEntry.ts calls it). */
export function startGpuWorker(scope: WorkerScope): void {
  scope.onmessage = (e) => {
    void serve(scope, e.data);
  };
}

async function serve(scope: WorkerScope, start: StartMessage): Promise<void> {
  let runner: GpuRunner;
  let lost: string | null = null;
  try {
    const adapter = await scope.navigator.gpu?.requestAdapter();
    if (!adapter)
      throw new Error(scope.navigator.gpu ? 'navigator.gpu.requestAdapter() found no adapter' : 'this browser has no navigator.gpu');
    const device = await adapter.requestDevice({
      // f16 storage of kept weights (weightStorage.ts) where offered
      requiredFeatures: adapter.features.has('shader-f16') ? ['shader-f16'] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits['maxStorageBufferBindingSize'],
        maxBufferSize: adapter.limits['maxBufferSize'],
        // attention backward binds 9 storage buffers (the default limit is 8)
        maxStorageBuffersPerShaderStage: adapter.limits['maxStorageBuffersPerShaderStage'],
      },
    });
    runner = new GpuRunner(device);
    void device.lost.then((info) => (lost = info.message || 'device lost'));
    const info = adapter.info;
    scope.postMessage({
      ok: true,
      adapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : 'unknown adapter',
      features: [...adapter.features],
    });
  } catch (err) {
    scope.postMessage({ ok: false, error: (err as Error).message });
    return;
  }
  const state = new Int32Array(start.control, 0, CONTROL_WORDS);
  /** Buffers kept across calls (frozen weights), by the client's id: one map a
   * channel (one GPU worker may serve several: Node's GPU thread). */
  const kept = new Map<number, GpuBuffer>();
  for (;;) {
    const current = Atomics.load(state, 0);
    if (current === STATE_CLOSE) {
      for (const b of kept.values()) b.destroy();
      kept.clear();
      runner.device.destroy?.();
      return;
    }
    if (current !== STATE_REQUEST) {
      const wait = waitAsync(state, 0, current);
      if (wait.async) await wait.value;
      continue;
    }
    let outcome = STATE_DONE;
    let answer: { error?: string } = {};
    try {
      if (lost !== null) throw new Error(`the WebGPU device was lost (${lost}); create the backend again`);
      await run(runner, kept, readText<Request>(start.control), start.data);
    } catch (err) {
      outcome = STATE_FAILED;
      answer = { error: (err as Error).message };
    }
    writeText(start.control, answer);
    Atomics.store(state, 0, outcome);
    Atomics.notify(state, 0);
  }
}

/** Atomics.waitAsync (ES2024; the compile target's lib predates it). */
function waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: unknown } {
  return (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: unknown } }).waitAsync(
    a,
    index,
    value,
  );
}

async function run(runner: GpuRunner, kept: Map<number, GpuBuffer>, req: Request, data: SharedArrayBuffer): Promise<void> {
  for (const id of req.release ?? []) {
    kept.get(id)?.destroy();
    kept.delete(id);
  }
  // 'keep' uploads its resident slots and runs nothing
  const launch = req.op === 'keep' ? () => {} : KERNELS[req.op];
  if (!launch) throw new Error(`no kernel for ${req.op}`);
  const bufs: GpuBuffer[] = req.slots.map((s) => {
    if (s.resident && !s.resident.keep) {
      const b = kept.get(s.resident.id);
      if (!b) throw new Error(`no kept buffer ${s.resident.id} (released, or the GPU worker restarted)`);
      return b;
    }
    if (s.mode === 'out') return runner.upload(null, s.length);
    // writeBuffer may not take shared memory: a private copy
    const b = runner.upload(new Uint32Array(data, s.offset, s.length).slice(), s.length);
    if (s.resident) {
      kept.get(s.resident.id)?.destroy();
      kept.set(s.resident.id, b);
    }
    return b;
  });
  try {
    runner.device.pushErrorScope('validation');
    const call = new GpuCall(runner);
    launch({ call, p: req.params, bufs, lengths: req.slots.map((s) => s.length) });
    const outs = req.slots.map((s, i) => ({ s, buffer: bufs[i]! })).filter((o) => o.s.mode !== 'in');
    const results = await call.finish(outs.map((o) => ({ buffer: o.buffer, elements: o.s.length })));
    const error = await runner.device.popErrorScope();
    if (error) throw new Error(`WebGPU validation: ${error.message}`);
    outs.forEach((o, i) => new Uint32Array(data, o.s.offset, o.s.length).set(new Uint32Array(results[i]!, 0, o.s.length)));
  } finally {
    req.slots.forEach((s, i) => {
      if (!s.resident) bufs[i]!.destroy();
    });
  }
}
