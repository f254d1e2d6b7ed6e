// The GPU thread in Node (issue 20): a worker_threads Worker runs the browser's GPU
// worker code (webgpu/gpuWorker.ts) with Dawn's GPU object (npm package `webgpu`)
// in place of navigator.gpu. One thread serves every webgpu backend of the process
// (Dawn's Node binding stalls the first thread's device when a second thread makes
// its own instance): each start message opens a channel with its own device. The
// main thread blocks (getBackend() is synchronous) and cannot receive a message, so
// the answer travels through the channel's control buffer: text + READY_WORD
// (protocol.ts). A probe (cola doctor) only asks for an adapter and reports it.

import { parentPort, workerData } from 'node:worker_threads';
import type { GpuAdapter, GpuNavigator } from '../webgpu/gpuTypes.js';
import { startGpuWorker } from '../webgpu/gpuWorker.js';
import { CONTROL_WORDS, READY_SET, READY_WORD, writeText, type ReadyMessage, type StartMessage } from '../webgpu/protocol.js';
import type { ThreadReady, ThreadStart } from './messages.js';

type Gpu = NonNullable<GpuNavigator['gpu']>;

/** Dawn's GPU object: one for the life of the thread. */
let dawn: Promise<Gpu> | null = null;

function loadDawn(): Promise<Gpu> {
  // the optional package (webgpuNode/index.ts checks it resolves before a thread starts)
  dawn ??= import('webgpu').then((mod) => (mod as unknown as { create(flags: string[]): Gpu }).create([]));
  return dawn;
}

function report(control: SharedArrayBuffer, r: ThreadReady): void {
  writeText(control, r);
  const words = new Int32Array(control, 0, CONTROL_WORDS);
  Atomics.store(words, READY_WORD, READY_SET);
  Atomics.notify(words, READY_WORD);
}

const describe = (a: GpuAdapter): string => {
  const info = a.info;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : 'unknown adapter';
};

async function open(start: ThreadStart): Promise<void> {
  const gpu = await loadDawn();
  let found: boolean | null = null;
  const navigator: GpuNavigator = {
    gpu: {
      requestAdapter: async (o?: unknown) => {
        const a = await gpu.requestAdapter(o);
        found = a !== null && a !== undefined;
        return a;
      },
    },
  };
  if (start.probe) {
    const a = await navigator.gpu!.requestAdapter();
    report(
      start.control,
      a ? { ok: true, adapter: describe(a), features: [...a.features] } : { ok: false, error: 'no adapter', noAdapter: true },
    );
    return;
  }
  // a scope a channel: the GPU worker answers through its postMessage
  const scope = {
    navigator,
    onmessage: null as ((e: { data: StartMessage }) => void) | null,
    postMessage: (m: ReadyMessage) => report(start.control, m.ok ? m : { ...m, noAdapter: found === false }),
  };
  startGpuWorker(scope);
  scope.onmessage!({ data: { control: start.control, data: start.data } });
}

function openReporting(start: ThreadStart): void {
  open(start).catch((err: Error) => report(start.control, { ok: false, error: err.message, noAdapter: false }));
}

openReporting(workerData as ThreadStart);
parentPort!.on('message', openReporting);
