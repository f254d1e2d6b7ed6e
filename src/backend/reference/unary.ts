// Unary activations and their derivatives.

import type { Backend, UnaryOp } from '../backend.js';
import { erfc } from './erf.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_CUBIC = 0.044715; // Hendrycks & Gimpel 2016, the tanh approximation

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** f(x) for each op. */
function unaryValue(op: UnaryOp, x: number): number {
  switch (op) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'silu':
      return x * sigmoid(x);
    case 'gelu_tanh':
      return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
    case 'gelu_erf':
      // 1 + erf(x/sqrt2) = erfc(-x/sqrt2): no cancellation for x << 0.
      return 0.5 * x * erfc(-x * INV_SQRT_2);
    case 'exp':
      return Math.exp(x);
    case 'neg':
      return -x;
    case 'sqr':
      return x * x;
    case 'tanh':
      return Math.tanh(x);
  }
}

/** f'(x) for each op (relu'(0) = 0, as PyTorch). */
function unaryDerivative(op: UnaryOp, x: number): number {
  switch (op) {
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'silu': {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case 'gelu_tanh': {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
      const dInner = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner;
    }
    case 'gelu_erf':
      // Phi(x) + x * phi(x), the normal CDF and density.
      return 0.5 * erfc(-x * INV_SQRT_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'exp':
      return Math.exp(x);
    case 'neg':
      return -1;
    case 'sqr':
      return 2 * x;
    case 'tanh': {
      const t = Math.tanh(x);
      return 1 - t * t;
    }
  }
}

export const unary: Backend['unary'] = (op, x, out) => {
  checkLengths('unary', x.length, out.length);
  for (let i = 0; i < x.length; i++) out[i] = unaryValue(op, x[i]);
};

export const unaryBackward: Backend['unaryBackward'] = ({ op, x, dy, dx, accumulate }) => {
  checkLengths('unaryBackward', x.length, dy.length, dx.length);
  for (let i = 0; i < x.length; i++) {
    const g = dy[i] * unaryDerivative(op, x[i]);
    dx[i] = accumulate ? dx[i] + g : g;
  }
};

function checkLengths(what: string, ...lengths: number[]): void {
  if (lengths.some((n) => n !== lengths[0])) {
    throw new RangeError(`${what}: arrays must have equal lengths, got ${lengths.join(', ')}`);
  }
}
