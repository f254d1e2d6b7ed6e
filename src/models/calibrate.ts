/** --quantize with calibration (issue 17): the layers `--quantize` replaces get GPTQ codes
 * (gptq.ts) instead of round-to-nearest ones, chosen to keep each layer's output on
 * calibration inputs. One pass: a temporary hook on every such Linear sums X^T X of its
 * inputs while the caller runs the dense model on the calibration batches, the hooks are
 * removed, then every layer is quantized from its own X^T X (all layers see the dense
 * model's activations: GPTQ's "sequential" variant, which feeds each block the already
 * quantized blocks' outputs, is not done). The format and its kernels do not change.
 *
 * Cost: the forward passes, tokens x in^2 / 2 multiply-adds per layer for X^T X (f64,
 * in a fixed order: the same inputs give the same codes on every machine and thread
 * count), and gptq.ts's O(in^3 + out x in^2) per layer. */
import type { QuantFormat } from '../backend/quant/format.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CausalLM } from './causalLM.js';
import { gptqQuantize } from './gptq.js';
import { quantizableLinears, type QuantizeModelReport } from './quantize.js';

export interface CalibrationOptions {
  format: QuantFormat;
  /** runs the dense model's forward pass on the calibration batches (no gradients needed) */
  forward: (model: CausalLM) => void;
  /** how many training examples `forward` runs: recorded on the model (quantizeCalibration) */
  examples: number;
  /** GPTQ's dampening (gptq.ts GPTQ_DEFAULT_DAMP when absent) */
  damp?: number;
}

export interface CalibrationReport extends QuantizeModelReport {
  /** calibration tokens each layer saw */
  tokens: number;
}

/** Quantizes `model`'s linear layers (not the LM head) to `o.format` with GPTQ on the
 * inputs `o.forward` gives them. The model must not be quantized yet. */
export function calibrateQuantize(model: CausalLM, o: CalibrationOptions): CalibrationReport {
  const chosen = quantizableLinears(model);
  if (chosen.length === 0) throw new RangeError('calibrateQuantize: the model has no dense linear layer to quantize');
  const sums = chosen.map(([, lin]) => new XtxSum(lin.inFeatures));
  // q, k and v (gate and up) take the same input tensor: its X^T X is computed once
  const seen = new WeakMap<Tensor, Float64Array>();
  chosen.forEach(([, lin], i) => {
    lin.forward = (x, opts) => {
      sums[i]!.add(x, seen);
      return Linear.prototype.forward.call(lin, x, opts);
    };
  });
  try {
    noGrad(() => o.forward(model));
  } finally {
    for (const [, lin] of chosen) Reflect.deleteProperty(lin, 'forward');
  }
  let bytesBefore = 0;
  let bytesAfter = 0;
  chosen.forEach(([path, lin], i) => {
    const w = lin.weight;
    const [rows, cols] = w.shape as [number, number];
    const values = w.dtype === 'f32' ? w.f32 : widen(w);
    const qw = gptqQuantize({ weight: values, rows, cols, format: o.format, xtx: sums[i]!.xtx, damp: o.damp });
    const q = new QuantizedLinear(qw, lin.bias, w.backend);
    bytesBefore += rows * cols * (w.dtype === 'bf16' ? 2 : 4);
    bytesAfter += q.bytes;
    model.setChild(path, q);
  });
  model.quantizeOnLoad = o.format;
  model.quantizeCalibration = o.examples;
  return { layers: chosen.length, bytesBefore, bytesAfter, tokens: sums[0]!.tokens };
}

/** Σ x x^T over the rows x of the inputs a layer sees ([in, in], f64, symmetric). */
class XtxSum {
  readonly xtx: Float64Array;
  tokens = 0;

  constructor(private readonly n: number) {
    this.xtx = new Float64Array(n * n);
  }

  add(x: Tensor, seen: WeakMap<Tensor, Float64Array>): void {
    const n = this.n;
    const rows = x.size / n;
    this.tokens += rows;
    let part = seen.get(x);
    if (!part) {
      part = outerSum(x.dtype === 'f32' ? x.f32 : widen(x), rows, n);
      seen.set(x, part);
    }
    for (let i = 0; i < part.length; i++) this.xtx[i]! += part[i]!;
  }
}

/** X^T X of X [rows, n] (row-major), summed row by row in f64. */
function outerSum(X: Float32Array, rows: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < n; i++) row[i] = X[t * n + i]!;
    for (let i = 0; i < n; i++) {
      const xi = row[i]!;
      if (xi === 0) continue;
      const at = i * n;
      for (let j = i; j < n; j++) out[at + j]! += xi * row[j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[i * n + j] = out[j * n + i]!;
  return out;
}

function widen(t: Tensor): Float32Array {
  const out = new Float32Array(t.size);
  t.backend.castToF32(t.data as Uint16Array, out);
  return out;
}
