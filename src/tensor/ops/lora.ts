import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';
import { weightForward, weightGrads, weightInputGrad, weightInputs, weightShape, type LayerWeight } from './layerWeight.js';
import { linearBiasGrad, linearDims, raw } from './matmul.js';

export interface LoraLinearParams {
  weight: LayerWeight; // W [out, in]: f32 or bf16, or quantized (layerWeight.ts)
  bias: Tensor | null; // b [out], f32
  A: Tensor; // [r, in]
  B: Tensor; // [out, r]
  /** s: alpha / r, or alpha / sqrt(r) with rsLoRA */
  scale: number;
  /** the LoRA path's input: x, or a dropout of it (default x) */
  h?: Tensor;
  /** added last, in place (a residual connection around the layer): the same
   * bits as add(residual, y), without a second [rows, out] tensor */
  residual?: Tensor;
  /** a ReLU on the output, in place (OPT's fc1 under --targets all): backward reads
   * relu' from the output, as linearRelu does, so the pre-activation is not kept
   * (+302 MiB at OPT-125m's batch 8 x 256 composed). Not with a residual. */
  relu?: boolean;
}

/** A LoRA linear layer as one op: y = x W^T + b + (s h A^T) B^T (+ residual),
 * where h is x or a dropout of it. Three products write one output (the last
 * accumulates with beta 1), and backward keeps only z = s h A^T [rows, r] beyond
 * the inputs: the unfused form kept four full [rows, out] tensors per layer (issue #7).
 * Gradients: gz = g B; dB = g^T z; dA = s gz^T h; dh = s gz A; dx = g W (+ dh);
 * the residual's is g. */
export function loraLinear(x: Tensor, p: LoraLinearParams): Tensor {
  const { weight, bias, A, B, scale: s, residual, relu } = p;
  if (relu && residual) throw new Error('loraLinear: a ReLU and a residual are not fused together');
  const h = p.h ?? x;
  const [outF, inF] = weightShape(weight);
  const r = A.dim(0);
  const rows = x.size / inF;
  if (x.dim(-1) !== inF) throw new Error(`loraLinear: input has ${x.dim(-1)} features, weight expects ${inF}`);
  if (residual && residual.size !== rows * outF)
    throw new Error(`loraLinear: residual [${residual.shape}] does not match output rows x ${outF}`);
  const be = x.backend;
  const out = empty(be, [...x.shape.slice(0, -1), outF]);
  weightForward(x, weight, bias, out.f32);
  const z = empty(be, [rows, r]);
  raw(h.f32, 'f32', A.f32, 'f32', z.f32, linearDims(rows, inF, r), x, { alpha: s });
  raw(z.f32, 'f32', B.f32, 'f32', out.f32, linearDims(rows, r, outF), x, { beta: 1 });
  if (residual) be.axpby(1, residual.f32, 1, out.f32); // out = residual + out
  if (relu) be.unary('relu', out.f32, out.f32);
  const sameInput = h === x;
  const inputs = [x, ...weightInputs(weight), ...(bias ? [bias] : []), A, B, ...(sameInput ? [] : [h]), ...(residual ? [residual] : [])];
  return record(out, 'loraLinear', inputs, (gOut) => {
    let g = gOut;
    if (relu) {
      g = empty(be, out.shape); // the gradient before the ReLU: y > 0 exactly where its input was
      be.unaryBackward({ op: 'relu', x: out.f32, dy: gOut.f32, dx: g.f32, accumulate: false });
    }
    const gz = empty(be, [rows, r]);
    raw(g.f32, 'f32', B.f32, 'f32', gz.f32, { ...linearDims(rows, outF, r), transB: false }, g);
    const dB = B.requiresGrad ? empty(be, B.shape) : null;
    if (dB) raw(g.f32, 'f32', z.f32, 'f32', dB.f32, { ...linearDims(outF, rows, r), transA: true, transB: false }, g);
    const dA = A.requiresGrad ? empty(be, A.shape) : null;
    if (dA) raw(gz.f32, 'f32', h.f32, 'f32', dA.f32, { ...linearDims(r, rows, inF), transA: true, transB: false }, g, { alpha: s });
    const lora = { ...linearDims(rows, r, inF), transB: false }; // gz [rows, r] @ A [r, in]
    let dx: Tensor | null = null;
    let dh: Tensor | null = null;
    if (x.requiresGrad || (sameInput && h.requiresGrad)) {
      dx = weightInputGrad(g, weight, x.shape);
      if (sameInput) raw(gz.f32, 'f32', A.f32, 'f32', dx.f32, lora, g, { alpha: s, beta: 1 });
    }
    if (!sameInput && h.requiresGrad) {
      dh = empty(be, h.shape);
      raw(gz.f32, 'f32', A.f32, 'f32', dh.f32, lora, g, { alpha: s });
    }
    const db = bias?.requiresGrad ? linearBiasGrad(g, outF) : null;
    return [dx, ...weightGrads(g, x, weight), ...(bias ? [db] : []), dA, dB, ...(sameInput ? [] : [dh]), ...(residual ? [g] : [])];
  });
}
