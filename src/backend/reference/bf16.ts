// bf16 <-> f32 conversion. A bf16 value is the upper 16 bits of an f32, so the
// conversion to f32 is exact and the one to bf16 is a rounding.

import type { Backend } from '../backend.js';

// One shared scratch word to read an f32's bits; JS is single-threaded.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Round an f32 (given as a JS number, first rounded to f32) to bf16 bits with
 * round-to-nearest-even. NaN stays NaN (quiet, sign kept): plain rounding could
 * carry a NaN's low payload bits away and turn it into an infinity. Overflow
 * rounds to infinity, as IEEE rounding does. */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if (Number.isNaN(scratchF32[0])) return ((bits >>> 16) | 0x0040) & 0xffff;
  const lsb = (bits >>> 16) & 1; // ties go to the even upper half
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff; // < 2^32 for every non-NaN
}

/** The f32 value (as a JS number) of bf16 bits `h`; exact. */
export function bf16BitsToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** x rounded to the nearest bf16 value, as a number. */
export function roundToBf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

export const castToBf16: Backend['castToBf16'] = (src, dst) => {
  checkSameLength(src.length, dst.length, 'castToBf16');
  for (let i = 0; i < src.length; i++) dst[i] = f32ToBf16Bits(src[i]);
};

export const castToF32: Backend['castToF32'] = (src, dst) => {
  checkSameLength(src.length, dst.length, 'castToF32');
  for (let i = 0; i < src.length; i++) dst[i] = bf16BitsToF32(src[i]);
};

function checkSameLength(srcLength: number, dstLength: number, what: string): void {
  if (srcLength !== dstLength) {
    throw new RangeError(`${what}: src has ${srcLength} elements but dst has ${dstLength}; pass arrays of equal length`);
  }
}
