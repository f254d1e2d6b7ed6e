// Optional arrays of a call (a weight, a gradient not needed) are left out of the
// request by the client; kernels bind a small scratch buffer in their place.

import type { GpuBuffer } from '../gpuTypes.js';
import type { GpuCall } from '../device.js';

/** The call's buffers `fixed` first, then one per flag: the next buffer if the
 * flag is set, else a scratch stand-in. */
export function withOptional(call: GpuCall, bufs: readonly GpuBuffer[], fixed: number, present: readonly boolean[]): GpuBuffer[] {
  const out = bufs.slice(0, fixed);
  let next = fixed;
  for (const p of present) out.push(p ? bufs[next++]! : call.scratch(4));
  return out;
}
