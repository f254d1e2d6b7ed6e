// The complementary error function for GELU (erf form).
//
// Numerical Recipes in C (2nd ed., §6.2, `erfcc`): a Chebyshev fit with fractional
// error below 1.2e-7 everywhere on erfc, i.e. relative accuracy even in the far
// tail. That tail matters for GELU: for x << 0, gelu(x) = 0.5x * erfc(|x|/sqrt2)
// is tiny, and computing it as 1 + erf(x) would cancel catastrophically.
// (Abramowitz-Stegun 7.1.26 is only 1.5e-7 absolute on erf, so it loses the tail.)

/** erfc(z) with relative error < 1.2e-7 for every z. */
export function erfc(z: number): number {
  const a = Math.abs(z);
  const t = 1 / (1 + 0.5 * a);
  // prettier-ignore
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  const tail = t * Math.exp(-a * a + poly);
  return z >= 0 ? tail : 2 - tail;
}

/** erf(z) = 1 - erfc(z); absolute error < 1.2e-7. */
export function erf(z: number): number {
  return 1 - erfc(z);
}
