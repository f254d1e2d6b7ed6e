import type { Tensor } from './tensor.js';

// Write counters of tensor storage, for caches derived from a tensor's values
// (packed weights, ops/packedWeight.ts). Keyed by the ArrayBuffer, so every view
// of the same memory shares one counter. Code that writes a tensor's data in
// place after creation calls markWritten: merges and unmerges (lora/loraLinear.ts),
// optimizer steps (optim/adamw.ts) and checkpoint restores (cola/run.ts).

const versions = new WeakMap<ArrayBufferLike, number>();

/** Record that t's data was just modified in place. */
export function markWritten(t: Tensor): void {
  const buffer = t.data.buffer;
  versions.set(buffer, (versions.get(buffer) ?? 0) + 1);
}

/** How many times t's memory was marked written (0: never since allocation). */
export function writeVersion(t: Tensor): number {
  return versions.get(t.data.buffer) ?? 0;
}
