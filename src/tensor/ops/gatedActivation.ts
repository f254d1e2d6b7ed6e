import type { Backend, UnaryOp } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { contiguousStrides, type Tensor } from '../tensor.js';
import { empty } from './creation.js';

/** act(gate) * up as one op: the gated MLP's product (Llama's SwiGLU, Gemma's GeGLU).
 * unary then mul kept gate, act(gate) and up for backward, besides the product (the
 * down projection's input): 4 [tokens, intermediate_size] tensors a block. This one
 * keeps gate and up and recomputes act(gate) in backward: 3, 44 KB less per token
 * and block at Llama-2-7B's shape (~1.4 GB per 1024 tokens over 32 blocks). Same
 * primitives in the same order as the composed ops, so the same bits. */
export function gatedActivation(op: UnaryOp, gate: Tensor, up: Tensor): Tensor {
  if (gate.shape.length !== up.shape.length || gate.shape.some((n, i) => n !== up.shape[i]))
    throw new Error(`gatedActivation: gate [${gate.shape.join(', ')}] and up [${up.shape.join(', ')}] must have the same shape`);
  const be = gate.backend;
  const out = empty(be, gate.shape);
  mulInto(be, activated(be, op, gate), up.f32, out.f32, gate.shape);
  return record(out, 'gatedActivation', [gate, up], (g) => {
    let dGate: Tensor | null = null;
    if (gate.requiresGrad) {
      // d/dgate = g * up * act'(gate)
      const gUp = empty(be, gate.shape);
      mulInto(be, g.f32, up.f32, gUp.f32, gate.shape);
      dGate = empty(be, gate.shape);
      be.unaryBackward({ op, x: gate.f32, dy: gUp.f32, dx: dGate.f32, accumulate: false });
    }
    let dUp: Tensor | null = null;
    if (up.requiresGrad) {
      // d/dup = g * act(gate), act(gate) recomputed
      dUp = empty(be, up.shape);
      mulInto(be, g.f32, activated(be, op, gate), dUp.f32, up.shape);
    }
    return [dGate, dUp];
  });
}

/** act(x) in a new buffer. */
function activated(be: Backend, op: UnaryOp, x: Tensor): Float32Array {
  const a = empty(be, x.shape);
  be.unary(op, x.f32, a.f32);
  return a.f32;
}

/** out = a * b, elementwise over contiguous tensors of one shape. */
function mulInto(be: Backend, a: Float32Array, b: Float32Array, out: Float32Array, shape: readonly number[]): void {
  const strides = contiguousStrides(shape);
  be.binary({ op: 'mul', a, aStrides: strides, b, bStrides: strides, out, shape });
}
