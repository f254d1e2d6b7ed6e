// The webgpu backend (issue 20): the backend contract in WGSL, f32.
// createWebGpuBackend() runs in a dedicated worker of a browser (the training code's),
// starts the GPU worker that owns the device, and returns a synchronous Backend whose
// primitives block (Atomics.wait) while the GPU worker runs them. Needs cross-origin
// isolation (SharedArrayBuffer): COOP same-origin + COEP require-corp. In Node the
// same GPU worker runs in a worker_threads Worker over Dawn's npm package `webgpu`
// (src/backend/webgpuNode/, which uses channelBuffers and connectBackend below).
// Design, coverage and tolerances: docs/WEBGPU.md. No Node built-ins here (browser bundle).

import type { Backend } from '../backend.js';
import { channelBackend, GpuChannel, type Traffic } from './client.js';
import { CONTROL_BYTES, MAX_DATA_BYTES, type ReadyMessage, type StartMessage } from './protocol.js';
import { resolveWeightStorage, type WeightStorage } from './weightStorage.js';

export interface WebGpuBackend {
  backend: Backend;
  /** the adapter, e.g. "google swiftshader" */
  adapter: string;
  features: string[];
  /** how frozen weights kept on the GPU are stored (options.weightStorage resolved
   * against the adapter), and why 'auto' fell back to f32 */
  weightStorage: 'f32' | 'f16';
  weightStorageNote: string | null;
  /** array bytes through the channel so far (a copy: take two and subtract) */
  traffic(): Traffic;
  /** stops the GPU worker */
  close(): void;
}

export interface WebGpuOptions {
  gpuWorkerUrl: string | URL;
  /** storage of frozen weights kept on the GPU: 'f32' (default, exact), 'f16' (needs
   * shader-f16: refused without), 'auto' (f16 where offered) */
  weightStorage?: WeightStorage;
}

/** Starts the GPU worker (the bundled gpuWorkerEntry.ts at `gpuWorkerUrl`) and
 * connects to it. Rejects with the reason when there is no WebGPU adapter. */
export async function createWebGpuBackend(opts: WebGpuOptions): Promise<WebGpuBackend> {
  if (typeof SharedArrayBuffer === 'undefined' || !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
    throw new Error('webgpu backend: needs SharedArrayBuffer, i.e. a cross-origin isolated page (COOP same-origin, COEP require-corp)');
  }
  const { control, data } = channelBuffers();
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
  return connectBackend({ ready, control, data, weightStorage: opts.weightStorage, close: () => worker.terminate() });
}

/** The two shared buffers of a channel (protocol.ts): control, and data (growable). */
export function channelBuffers(): StartMessage {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const data = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(1 << 20, {
    maxByteLength: MAX_DATA_BYTES,
  });
  return { control, data };
}

export interface ConnectArgs extends StartMessage {
  /** what the GPU worker answered (ok) */
  ready: ReadyMessage & { ok: true };
  weightStorage: WeightStorage | undefined;
  /** compute of bf16 products when a call names none (client.ts ChannelOptions) */
  defaultCompute?: () => 'f32' | 'bf16';
  /** stops the GPU worker; null: only this channel stops (Node's GPU thread serves others) */
  close: (() => void) | null;
}

/** The backend over a GPU worker that reported ready (browser and Node alike).
 * Closes the worker and throws when the weight storage asked for is refused. */
export function connectBackend(a: ConnectArgs): WebGpuBackend {
  let storage: ReturnType<typeof resolveWeightStorage>;
  try {
    storage = resolveWeightStorage(a.weightStorage, a.ready.features, a.ready.adapter);
  } catch (err) {
    closeChannel(a);
    throw err;
  }
  const channel = new GpuChannel(a.control, a.data);
  return {
    backend: channelBackend(channel, { weightStorage: storage.storage, defaultCompute: a.defaultCompute }),
    adapter: a.ready.adapter,
    features: a.ready.features,
    weightStorage: storage.storage,
    weightStorageNote: storage.note,
    traffic: () => ({ ...channel.traffic, uploadByOp: { ...channel.traffic.uploadByOp } }),
    close: () => closeChannel(a),
  };
}

function closeChannel(a: ConnectArgs): void {
  new GpuChannel(a.control, a.data).close();
  a.close?.();
}
