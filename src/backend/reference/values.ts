// Reading f32-or-bf16 storage as numbers, shared by the kernels that accept either.

import type { FloatArray } from '../backend.js';
import { bf16BitsToF32 } from './bf16.js';

/** The values of f32 or bf16 storage as f32; a Uint16Array holds bf16 bits. */
export function floatValues(x: FloatArray): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = bf16BitsToF32(x[i]);
  return out;
}
