// How frozen weights kept on the GPU are stored (issue 20): f32 (exact, the default)
// or f16 where the adapter has `shader-f16` (half the GPU memory and half the upload;
// products then read f16-rounded weights and accumulate in f32). The backend contract
// has no f16 dtype: f16 is only this GPU-side storage of packMatmulB copies
// (resident.ts), which is why it is an option of the backend, not of tensors.

import { floatToHalf } from '../../io/floatBits.js';
import type { FloatArray } from '../backend.js';

/** 'auto': f16 when the adapter offers shader-f16, else f32. */
export type WeightStorage = 'f32' | 'f16' | 'auto';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'auto'];
export const SHADER_F16 = 'shader-f16';

/** The storage used for `asked` on an adapter with `features`, and a note when
 * 'auto' fell back to f32. 'f16' on an adapter without shader-f16 is refused
 * (an option is never accepted and ignored). */
export function resolveWeightStorage(
  asked: WeightStorage | undefined,
  features: readonly string[],
  adapter: string,
): { storage: 'f32' | 'f16'; note: string | null } {
  if (asked !== undefined && !WEIGHT_STORAGES.includes(asked))
    throw new RangeError(`webgpu weightStorage: expected one of ${WEIGHT_STORAGES.join(', ')}, got ${String(asked)}`);
  const has = features.includes(SHADER_F16);
  if (asked === 'f16' && !has)
    throw new Error(
      `webgpu weightStorage 'f16' needs the adapter feature ${SHADER_F16}, which ${adapter} lacks; use 'auto' (f16 where offered) or 'f32'`,
    );
  if (asked === 'f16' || (asked === 'auto' && has)) return { storage: 'f16', note: null };
  return { storage: 'f32', note: asked === 'auto' ? `${adapter} lacks ${SHADER_F16}: frozen weights are kept in f32` : null };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** `values` (f32, or bf16 bits widened) as f16 (round to nearest even), two a u32 word (element 2i in the low half). */
export function halfWords(values: FloatArray): Int32Array {
  const words = new Int32Array(Math.ceil(values.length / 2));
  const halves = new Uint16Array(words.buffer);
  const bf16 = values instanceof Uint16Array;
  for (let i = 0; i < values.length; i++) {
    if (bf16) {
      u32[0] = values[i]! << 16;
      halves[i] = floatToHalf(f32[0]!);
    } else halves[i] = floatToHalf(values[i]!);
  }
  return words;
}
