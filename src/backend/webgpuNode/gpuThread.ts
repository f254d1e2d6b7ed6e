// The GPU worker in Node (issue 20): a worker_threads Worker runs the browser's GPU
// worker code (webgpu/gpuWorker.ts) with Dawn's GPU object (npm package `webgpu`)
// in place of navigator.gpu. The main thread blocks in getBackend() (it is
// synchronous) and cannot receive a message, so the ReadyMessage travels through the
// control buffer: text + READY_WORD (protocol.ts). In probe mode (cola doctor) it
// only asks for an adapter and reports it.

import { workerData } from 'node:worker_threads';
import type { GpuAdapter, GpuNavigator } from '../webgpu/gpuTypes.js';
import { startGpuWorker } from '../webgpu/gpuWorker.js';
import { CONTROL_WORDS, READY_SET, READY_WORD, writeText, type StartMessage } from '../webgpu/protocol.js';
import type { ThreadReady } from './thread.js';

export interface ThreadData extends StartMessage {
  /** only ask for an adapter and report it (no device, no serving) */
  probe: boolean;
}

type Gpu = NonNullable<GpuNavigator['gpu']>;

const start = workerData as ThreadData;
/** Dawn's GPU object: kept referenced for the life of the thread. */
let dawn: Gpu | null = null;

function report(r: ThreadReady): void {
  writeText(start.control, r);
  const words = new Int32Array(start.control, 0, CONTROL_WORDS);
  Atomics.store(words, READY_WORD, READY_SET);
  Atomics.notify(words, READY_WORD);
}

const describe = (a: GpuAdapter): string => {
  const info = a.info;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' : 'unknown adapter';
};

async function main(): Promise<void> {
  // a variable specifier: the package is optional, tsc must not require it
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): Gpu };
  dawn = mod.create([]);
  const gpu = dawn;
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
    report(a ? { ok: true, adapter: describe(a), features: [...a.features] } : { ok: false, error: 'no adapter', noAdapter: true });
    return;
  }
  const scope = {
    navigator,
    onmessage: null as ((e: { data: StartMessage }) => void) | null,
    postMessage: (m: { ok: true; adapter: string; features: string[] } | { ok: false; error: string }) =>
      report(m.ok ? m : { ...m, noAdapter: found === false }),
  };
  startGpuWorker(scope);
  scope.onmessage!({ data: { control: start.control, data: start.data } });
}

main().catch((err: Error) => report({ ok: false, error: err.message, noAdapter: false }));
