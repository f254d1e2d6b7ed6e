// Rotary position embedding (Su et al. 2021, RoFormer) over x [B, T, H, D].

import type { Backend } from '../backend.js';

export const rope: Backend['rope'] = (args) => {
  const { x, out, positions, cos, sin } = args;
  const { batch, seq, heads, headDim, rotaryDim, layout, inverse } = args;
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim) {
    throw new RangeError(`rope: rotaryDim must be even and <= headDim (${headDim}), got ${rotaryDim}`);
  }
  const half = rotaryDim / 2;
  const sign = inverse ? -1 : 1; // rotating by -angle undoes the rotation
  // Indices of the two elements rotated together by frequency i.
  const pair = layout === 'halves' ? (i: number) => [i, i + half] : (i: number) => [2 * i, 2 * i + 1];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const table = positions[t] * half; // row of the [maxPositions, half] tables
      if (positions[t] < 0 || table + half > cos.length || table + half > sin.length) {
        throw new RangeError(`rope: position ${positions[t]} is outside the cos/sin tables (${cos.length / half} positions)`);
      }
      for (let h = 0; h < heads; h++) {
        const o = ((b * seq + t) * heads + h) * headDim; // (b, t, h, :)
        for (let i = 0; i < half; i++) {
          const [i1, i2] = pair(i);
          const c = cos[table + i];
          const s = sign * sin[table + i];
          const x1 = x[o + i1]; // read both before writing: out may alias x
          const x2 = x[o + i2];
          out[o + i1] = x1 * c - x2 * s;
          out[o + i2] = x2 * c + x1 * s;
        }
        for (let d = rotaryDim; d < headDim; d++) out[o + d] = x[o + d]; // pass-through tail
      }
    }
  }
};
