// Closeness checks shared by every numeric test, with per-dtype tolerances in one place.

import assert from 'node:assert/strict';

export type Precision = 'f32' | 'bf16';

/** Default tolerances, |actual - expected| <= atol + rtol * |expected|.
 * f32: results of different summation orders over a few hundred terms differ by
 * ~1e-6 relative; 1e-4 leaves room for longer sums and transcendental functions.
 * bf16: an 8-bit mantissa rounds each operand by up to 2^-9 (~2e-3) relative;
 * products and sums of rounded operands stay within ~1e-2, so 2e-2 is safe. */
export const TOLERANCES: Record<Precision, { rtol: number; atol: number }> = {
  f32: { rtol: 1e-4, atol: 1e-5 },
  bf16: { rtol: 2e-2, atol: 2e-2 },
};

export interface CloseOptions {
  dtype: Precision;
  /** what is compared, for the failure message, e.g. "matmul C (transA)" */
  what: string;
  rtol?: number;
  atol?: number;
}

/** Asserts actual ≈ expected elementwise; NaN matches only NaN and infinities
 * only themselves. On failure reports the worst element and the count. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions): void {
  const { rtol, atol } = { ...TOLERANCES[opts.dtype], ...definedOnly(opts) };
  assert.equal(actual.length, expected.length, `${opts.what}: length ${actual.length}, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = excessError(actual[i], expected[i], rtol, atol);
    if (excess > 0) {
      failures++;
      if (worst < 0 || excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
  }
  if (failures > 0) {
    assert.fail(
      `${opts.what}: ${failures} of ${expected.length} elements differ beyond rtol ${rtol}, atol ${atol}; ` +
        `worst at index ${worst}: actual ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst])})`,
    );
  }
}

/** How far beyond the allowed error an element is (> 0 fails); Infinity for
 * NaN or infinity mismatches. */
function excessError(actual: number, expected: number, rtol: number, atol: number): number {
  if (Number.isNaN(expected) || Number.isNaN(actual)) return Number.isNaN(expected) && Number.isNaN(actual) ? 0 : Infinity;
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return actual === expected ? 0 : Infinity;
  return Math.abs(actual - expected) - (atol + rtol * Math.abs(expected));
}

function definedOnly(opts: CloseOptions): { rtol?: number; atol?: number } {
  const out: { rtol?: number; atol?: number } = {};
  if (opts.rtol !== undefined) out.rtol = opts.rtol;
  if (opts.atol !== undefined) out.atol = opts.atol;
  return out;
}

/** max |a - b| / max |b|: the largest difference relative to the largest expected value
 * (logits of a quantized load against its exact widening). */
export function maxDiffRelToMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}
