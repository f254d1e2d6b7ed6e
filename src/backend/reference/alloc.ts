// Storage allocation: plain zero-filled typed arrays (no alignment needed in JS).

import type { Backend, Storage } from '../backend.js';

export const alloc: Backend['alloc'] = (dtype, size): Storage => {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'bf16':
      return new Uint16Array(size);
    case 'i32':
      return new Int32Array(size);
  }
};
