// The process's GPU thread (gpuThread.ts), started on first use, and a blocking
// open of a channel on it: getBackend() is synchronous, and the main thread of Node
// may Atomics.wait until the thread answers in the channel's control buffer.

import { Worker } from 'node:worker_threads';
import { channelBuffers } from '../webgpu/index.js';
import { CONTROL_WORDS, READY_SET, READY_WORD, readText, type StartMessage } from '../webgpu/protocol.js';
import type { ThreadReady, ThreadStart } from './messages.js';

export interface OpenedChannel extends StartMessage {
  ready: ThreadReady;
}

/** How long Dawn may take to load, find an adapter and make a device. */
const START_TIMEOUT_MS = 60_000;

let thread: Worker | null = null;

/** Opens a channel (its own adapter and device) on the GPU thread, starting the thread
 * first; `probe`: only looks for an adapter. A new thread whose first answer is a
 * failure is terminated, so the next open starts afresh (Dawn reads the Vulkan
 * environment, e.g. VK_ICD_FILENAMES, when the thread makes its instance). The
 * thread is unref'd: it never keeps the process alive. */
export function openChannel(probe: boolean): OpenedChannel {
  const { control, data } = channelBuffers();
  const start: ThreadStart = { control, data, probe };
  const fresh = thread === null;
  if (thread === null) {
    // stderr: Dawn's and the Vulkan loader's own lines go to the terminal
    const w = new Worker(new URL('./gpuThread.js', import.meta.url), { workerData: start });
    w.unref();
    w.on('exit', () => {
      if (thread === w) thread = null;
    });
    thread = w;
  } else {
    thread.postMessage(start);
  }
  const words = new Int32Array(control, 0, CONTROL_WORDS);
  Atomics.wait(words, READY_WORD, 0, START_TIMEOUT_MS);
  const ready: ThreadReady =
    Atomics.load(words, READY_WORD) === READY_SET
      ? readText<ThreadReady>(control)
      : { ok: false, error: `the GPU thread did not answer within ${START_TIMEOUT_MS / 1000} s`, noAdapter: false };
  if (fresh && !ready.ok) {
    void thread!.terminate();
    thread = null;
  }
  return { control, data, ready };
}

/** Stops the GPU thread (a probe made before the thread that will serve starts
 * elsewhere: two Dawn instances in one process stall each other). */
export function stopGpuThread(): void {
  if (thread === null) return;
  void thread.terminate();
  thread = null;
}
