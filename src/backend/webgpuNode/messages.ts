// What the main thread and the GPU thread (gpuThread.ts) tell each other.
import type { StartMessage } from '../webgpu/protocol.js';

/** Opens a channel on the GPU thread (workerData of the first, a message after). */
export interface ThreadStart extends StartMessage {
  /** only ask for an adapter and report it (no device, no serving) */
  probe: boolean;
}

/** The GPU thread's answer: ready (adapter, features) or why not; `noAdapter`: Dawn
 * loaded but requestAdapter() found none (a driver is missing, not a bug). */
export type ThreadReady = { ok: true; adapter: string; features: string[] } | { ok: false; error: string; noAdapter: boolean };
