// Strided copies and fills.

import type { Backend } from '../backend.js';
import { forEachOffset } from './strided.js';

export const copyStrided: Backend['copyStrided'] = ({ src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate }) => {
  if (src.constructor !== dst.constructor) {
    throw new TypeError(`copyStrided: src is a ${src.constructor.name} but dst is a ${dst.constructor.name}; both must be the same kind`);
  }
  if (accumulate && dst instanceof Uint16Array) {
    // Adding bf16 bit patterns as integers would be meaningless.
    throw new TypeError('copyStrided: accumulate is not defined for bf16 storage; accumulate in f32 and cast');
  }
  forEachOffset(shape, [srcOffset, dstOffset], [srcStrides, dstStrides], ([s, d]) => {
    dst[d] = accumulate ? dst[d] + src[s] : src[s];
  });
};

export const fill: Backend['fill'] = (x, value) => {
  x.fill(value);
};
