// Write counters of tensor storage, for caches derived from a tensor's values
// (packed weights, ops/packedWeight.ts). Keyed by the ArrayBuffer, so every view
// of the same memory shares one counter. Only Tensor.assign and Tensor.update
// (tensor.ts) bump it: a write to a tensor's values after creation goes through
// one of them, so no derived copy can miss it.

const versions = new WeakMap<ArrayBufferLike, number>();

/** Record that the memory of `buffer` was just modified in place. */
export function bumpVersion(buffer: ArrayBufferLike): void {
  versions.set(buffer, (versions.get(buffer) ?? 0) + 1);
}

/** How many times `buffer` was written in place (0: never since allocation). */
export function writeVersion(buffer: ArrayBufferLike): number {
  return versions.get(buffer) ?? 0;
}
