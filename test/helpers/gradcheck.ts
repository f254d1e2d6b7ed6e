// Finite-difference gradient checks for backward primitives.
//
// The loss is L = Σ_i w_i y_i with fixed random weights w, so dL/dy = w is the
// upstream gradient handed to the backward primitive and its output must equal
// dL/dx, which we estimate by central differences (L(x + eps) - L(x - eps)) / 2eps.

import { assertClose } from './tolerance.js';

export interface GradCheck {
  /** what is checked, for failure messages */
  what: string;
  /** the input whose gradient is checked; perturbed in place and restored */
  input: Float32Array;
  /** runs the forward pass on the current inputs and returns its output */
  forward: () => Float32Array;
  /** the analytic gradient dL/dinput, given dL/doutput = weights */
  analytic: Float32Array;
  /** upstream gradient used to compute `analytic` */
  weights: Float32Array;
  eps?: number;
  rtol?: number;
  atol?: number;
}

/** L = Σ w_i y_i in f64. */
export function weightedSum(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += w[i] * y[i];
  return sum;
}

/** Numerical dL/dinput by central differences (f32 inputs, f64 loss). */
export function numericGradient(input: Float32Array, forward: () => Float32Array, weights: Float32Array, eps: number): Float64Array {
  const grad = new Float64Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const saved = input[i];
    input[i] = saved + eps;
    const plus = weightedSum(forward(), weights);
    const stepUp = input[i] - saved; // the step actually taken after f32 rounding
    input[i] = saved - eps;
    const minus = weightedSum(forward(), weights);
    const stepDown = saved - input[i];
    input[i] = saved;
    grad[i] = (plus - minus) / (stepUp + stepDown);
  }
  return grad;
}

/** Asserts the analytic gradient matches central differences. The absolute
 * tolerance scales with the gradient's size, since f32 forward noise does. */
export function checkGradient(check: GradCheck): void {
  const eps = check.eps ?? 1e-2;
  const numeric = numericGradient(check.input, check.forward, check.weights, eps);
  const scale = numeric.reduce((max, g) => Math.max(max, Math.abs(g)), 1);
  assertClose(check.analytic, numeric, {
    dtype: 'f32',
    what: `${check.what}: analytic vs finite-difference gradient`,
    rtol: check.rtol ?? 1e-2,
    atol: check.atol ?? 1e-3 * scale,
  });
}
