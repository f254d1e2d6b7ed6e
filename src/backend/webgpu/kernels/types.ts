// What a kernel family registers: a launcher per op name, given the call, the
// request's scalars, the slot buffers (in the client's order) and their lengths.

import type { GpuBuffer } from '../gpuTypes.js';
import type { GpuCall } from '../device.js';

export interface Launch {
  call: GpuCall;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  p: any;
  bufs: readonly GpuBuffer[];
  lengths: readonly number[];
}

export type Launcher = (l: Launch) => void;

/** Shapes of strided kernels: at most this many dims (padded with size 1). */
export const MAX_RANK = 8;
