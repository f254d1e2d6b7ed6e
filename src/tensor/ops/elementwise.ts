import type { BinaryOp, UnaryOp } from '../../backend/backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { broadcastStrides, sumToShape } from './reduce.js';

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(a.shape, b.shape);
  const out = empty(a.backend, shape);
  a.backend.binary({
    op,
    a: a.f32,
    aStrides: broadcastStrides(a.shape, shape),
    b: b.f32,
    bStrides: broadcastStrides(b.shape, shape),
    out: out.f32,
    shape,
  });
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('add', a, b), 'add', [a, b], (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(g, b.shape) : null,
  ]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record(binaryRaw('mul', a, b), 'mul', [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw('mul', g, b), a.shape) : null,
    b.requiresGrad ? sumToShape(binaryRaw('mul', g, a), b.shape) : null,
  ]);
}

function scaleRaw(x: Tensor, alpha: number): Tensor {
  const out = empty(x.backend, x.shape);
  x.backend.axpby(alpha, x.f32, 0, out.f32);
  return out;
}

/** alpha * x */
export function scale(x: Tensor, alpha: number): Tensor {
  return record(scaleRaw(x, alpha), 'scale', [x], (g) => [scaleRaw(g, alpha)]);
}

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const out = empty(x.backend, x.shape);
  x.backend.unary(op, x.f32, out.f32);
  return record(out, op, [x], (g) => {
    const gx = empty(x.backend, x.shape);
    x.backend.unaryBackward({ op, x: x.f32, dy: g.f32, dx: gx.f32, accumulate: false });
    return [gx];
  });
}

/** GELU; 'tanh' is the GPT-2 approximation (gelu_new), 'erf' the exact one (OPT/BERT). */
export const gelu = (x: Tensor, approximate: 'tanh' | 'erf' = 'tanh'): Tensor =>
  unary(approximate === 'tanh' ? 'gelu_tanh' : 'gelu_erf', x);

/** cap * tanh(x / cap): Gemma 2's logit soft-capping (final_logit_softcapping). */
export function softcap(x: Tensor, cap: number): Tensor {
  return scale(unary('tanh', scale(x, 1 / cap)), cap);
}
