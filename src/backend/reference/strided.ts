// Walking a multi-dimensional index space with several stride sets at once.

/** Calls `visit(offsets)` for every index of `shape` in row-major order, where
 * offsets[s] = bases[s] + Σ_d i_d * strides[s][d]. `offsets` is reused between
 * calls. An empty shape is one element; a zero extent is none. */
export function forEachOffset(
  shape: readonly number[],
  bases: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (offsets: number[]) => void,
): void {
  for (const s of strides) {
    if (s.length !== shape.length) {
      throw new RangeError(`strides [${s.join(', ')}] have ${s.length} entries but shape [${shape.join(', ')}] has ${shape.length}`);
    }
  }
  if (shape.some((n) => n === 0)) return;
  const index = new Array<number>(shape.length).fill(0);
  const offsets = [...bases];
  for (;;) {
    visit(offsets);
    // Odometer: bump the last axis; on wrap, rewind it and carry left.
    let d = shape.length - 1;
    for (; d >= 0; d--) {
      index[d]++;
      for (let s = 0; s < strides.length; s++) offsets[s] += strides[s][d];
      if (index[d] < shape[d]) break;
      for (let s = 0; s < strides.length; s++) offsets[s] -= strides[s][d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/** Row-major contiguous strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}
