// Which arithmetic a bf16-stored weight is multiplied in, from what the CPU has
// (issue 15). A pure function of the detected capabilities, so every CPU class
// is unit-tested (test/backend/computePath.test.ts) without that CPU.
//
// Why it matters (docs/performance.md, "Machines differ"): oneDNN runs bf16
// products on AMX or AVX512_BF16 instructions where they exist (2-3x f32), and
// emulates them otherwise, ~3x slower than f32 (matmul 2048x768x3072: 203 vs 57
// GFLOP/s on a Xeon with AVX-512 but without avx512_bf16).

import { ColaError } from '../errors.js';

/** What the processor can do, as detected at start (backend/machine.ts). */
export interface CpuCaps {
  avx2: boolean;
  avx512f: boolean;
  avx512Vnni: boolean;
  /** AVX512_BF16: native bf16 dot products (Cooper Lake, Sapphire Rapids, Zen 4+) */
  avx512Bf16: boolean;
  /** AMX-BF16 tiles (Sapphire Rapids and later) */
  amxBf16: boolean;
  /** whether the flags were read at all (false: unknown CPU or no /proc/cpuinfo) */
  known: boolean;
}

/** How frozen weights are stored (--dtype) */
export type StorageDtype = 'f32' | 'bf16';
/** How products with them are computed (--compute) */
export type ComputeRequest = 'auto' | 'f32' | 'bf16';
export type ComputeDtype = 'f32' | 'bf16';

export const COMPUTE_REQUESTS: readonly ComputeRequest[] = ['auto', 'f32', 'bf16'];

/** Whether bf16 products run on bf16 hardware here, not emulated. */
export function hasNativeBf16(caps: CpuCaps): boolean {
  return caps.avx512Bf16 || caps.amxBf16;
}

/** The class of CPU, for messages: 'amx' | 'avx512_bf16' | 'avx512' | 'avx2' | 'older' | 'unknown'. */
export function cpuClass(caps: CpuCaps): string {
  if (!caps.known) return 'unknown';
  if (caps.amxBf16) return 'amx';
  if (caps.avx512Bf16) return 'avx512_bf16';
  if (caps.avx512f) return 'avx512';
  if (caps.avx2) return 'avx2';
  return 'older';
}

/** The arithmetic of products with weights stored as `storage`.
 * - f32 storage is computed in f32 (asking for bf16 there is an error: the
 *   weights would be rounded on every call; store them in bf16 instead).
 * - bf16 storage: 'auto' computes in bf16 where the CPU has native bf16
 *   (AVX512_BF16 or AMX-BF16) and in f32 where it does not, or where the CPU is
 *   unknown: exact widening of bf16 costs one pass over the weight, emulated bf16
 *   costs ~3x. An explicit 'f32' or 'bf16' is obeyed. */
export function computePath(caps: CpuCaps, storage: StorageDtype, requested: ComputeRequest): ComputeDtype {
  if (storage === 'f32') {
    if (requested === 'bf16') {
      throw new ColaError(
        '--compute bf16 computes bf16-stored weights in bf16, but the weights are f32; add --dtype bf16 (or drop --compute)',
      );
    }
    return 'f32';
  }
  if (requested !== 'auto') return requested;
  return hasNativeBf16(caps) ? 'bf16' : 'f32';
}

/** Which kernel multiplies a bf16 weight in f32 (compute f32 or auto without bf16
 * hardware): cola's blocked AVX2 GEMM, which widens the weight inside its packing
 * (native/gemm.cc), on AVX2 CPUs without AVX-512; oneDNN elsewhere (its 512-bit
 * kernels, the weight widened a panel at a time). native/gemm.cc gemmAvx2Suits()
 * applies this rule to cpuid; the machine test checks that they agree. */
export type WidenedProductKernel = 'cola-avx2' | 'onednn';

export function widenedProductKernel(caps: CpuCaps): WidenedProductKernel {
  return caps.known && caps.avx2 && !caps.avx512f ? 'cola-avx2' : 'onednn';
}

/** A --compute value, checked. */
export function parseComputeRequest(value: unknown, source = '--compute'): ComputeRequest {
  if (value === undefined || value === null || value === '') return 'auto';
  const found = COMPUTE_REQUESTS.find((r) => r === value);
  if (!found) throw new ColaError(`${source} ${String(value)}: expected one of ${COMPUTE_REQUESTS.join(', ')} (auto is the default)`);
  return found;
}
