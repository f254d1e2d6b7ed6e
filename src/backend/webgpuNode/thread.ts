// Starts the GPU thread (gpuThread.ts) and blocks until it reports ready or why not:
// getBackend() is synchronous, and the main thread of Node may Atomics.wait.

import { Worker } from 'node:worker_threads';
import { channelBuffers } from '../webgpu/index.js';
import { CONTROL_WORDS, READY_SET, READY_WORD, readText, type StartMessage } from '../webgpu/protocol.js';
import type { ThreadData } from './gpuThread.js';

/** The GPU thread's answer: ready (adapter, features) or why not; `noAdapter`: Dawn
 * loaded but requestAdapter() found none (a driver is missing, not a bug). */
export type ThreadReady = { ok: true; adapter: string; features: string[] } | { ok: false; error: string; noAdapter: boolean };

export interface StartedThread extends StartMessage {
  ready: ThreadReady;
  worker: Worker;
}

/** How long Dawn may take to load, find an adapter and make a device. */
const START_TIMEOUT_MS = 60_000;

/** Starts a GPU thread; `probe`: it only looks for an adapter. The thread is unref'd
 * (it never keeps the process alive) and terminated here unless it is ready to serve. */
export function startGpuThread(probe: boolean): StartedThread {
  const { control, data } = channelBuffers();
  const workerData: ThreadData = { control, data, probe };
  // stderr: Dawn's and the Vulkan loader's own lines go to the terminal, as in the main thread
  const worker = new Worker(new URL('./gpuThread.js', import.meta.url), { workerData });
  worker.unref();
  const words = new Int32Array(control, 0, CONTROL_WORDS);
  const outcome = Atomics.wait(words, READY_WORD, 0, START_TIMEOUT_MS);
  let ready: ThreadReady;
  if (outcome === 'timed-out' && Atomics.load(words, READY_WORD) !== READY_SET) {
    ready = { ok: false, error: `the GPU thread did not start within ${START_TIMEOUT_MS / 1000} s`, noAdapter: false };
  } else {
    ready = readText<ThreadReady>(control);
  }
  if (probe || !ready.ok) void worker.terminate();
  return { control, data, ready, worker };
}
