// The webgpu backend (issue 20): the backend contract in WGSL, f32, for a browser.
// createWebGpuBackend() runs in a dedicated worker (the training code's), starts
// the GPU worker that owns the device, and returns a synchronous Backend whose
// primitives block (Atomics.wait) while the GPU worker runs them. Needs cross-origin
// isolation (SharedArrayBuffer): COOP same-origin + COEP require-corp. Design,
// coverage and tolerances: docs/WEBGPU.md. No Node built-ins here (browser bundle).

import type { Backend } from '../backend.js';
import { channelBackend, GpuChannel } from './client.js';
import { CONTROL_BYTES, MAX_DATA_BYTES, type ReadyMessage, type StartMessage } from './protocol.js';

export const WEBGPU_IN_NODE =
  'the webgpu backend runs in a browser worker (createWebGpuBackend in src/backend/webgpu/index.ts; see docs/WEBGPU.md); in Node use the native or reference backend';

export interface WebGpuBackend {
  backend: Backend;
  /** the adapter, e.g. "google swiftshader" */
  adapter: string;
  features: string[];
  /** stops the GPU worker */
  close(): void;
}

/** Starts the GPU worker (the bundled gpuWorkerEntry.ts at `gpuWorkerUrl`) and
 * connects to it. Rejects with the reason when there is no WebGPU adapter. */
export async function createWebGpuBackend(opts: { gpuWorkerUrl: string | URL }): Promise<WebGpuBackend> {
  if (typeof SharedArrayBuffer === 'undefined' || !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
    throw new Error('webgpu backend: needs SharedArrayBuffer, i.e. a cross-origin isolated page (COOP same-origin, COEP require-corp)');
  }
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const data = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(1 << 20, {
    maxByteLength: MAX_DATA_BYTES,
  });
  const worker = new Worker(opts.gpuWorkerUrl, { type: 'module' });
  const ready = await new Promise<ReadyMessage>((resolve) => {
    worker.onmessage = (e: MessageEvent<ReadyMessage>) => resolve(e.data);
    worker.onerror = (e: ErrorEvent) => resolve({ ok: false, error: `GPU worker failed to start: ${e.message}` });
    const start: StartMessage = { control, data };
    worker.postMessage(start);
  });
  if (!ready.ok) {
    worker.terminate();
    throw new Error(`webgpu backend: ${ready.error}`);
  }
  return {
    backend: channelBackend(new GpuChannel(control, data)),
    adapter: ready.adapter,
    features: ready.features,
    close: () => worker.terminate(),
  };
}
