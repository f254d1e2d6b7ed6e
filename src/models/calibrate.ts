/** --quantize with calibration (issue 17): the layers `--quantize` replaces get GPTQ codes
 * (gptq.ts) instead of round-to-nearest ones, chosen to keep each layer's output on
 * calibration inputs. Block by block, as GPTQ does (Frantar et al. 2022, sec. 4 and its
 * reference code: each block is quantized on the outputs of the blocks before it, already
 * quantized, so a block's codes also absorb the error the earlier codes brought): for block
 * b, temporary hooks sum X^T X of the inputs each of its linear layers sees while the
 * caller runs the calibration batches, a batch stopping at the first linear layer of block
 * b + 1; then block b's layers are quantized and replaced, and block b + 1 comes next.
 * Blocks are taken in the order the forward pass reaches them (one whole pass first); a
 * linear layer outside the numbered blocks is a block of its own. The format and its
 * kernels do not change.
 *
 * Cost: about numLayers / 2 + 1 forward passes over the calibration batches (block b runs
 * blocks 0..b), tokens x in^2 / 2 multiply-adds per layer for X^T X (f64, in a fixed order:
 * the same inputs give the same codes on every machine and thread count), gptq.ts's
 * O(in^3 + out x in^2) per layer; one block's X^T X sums in memory at a time. */
import type { QuantFormat } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CausalLM } from './causalLM.js';
import { GPTQ_MAX_IN, gptqQuantize } from './gptq.js';
import { blockNumber, quantizableLinears, type QuantizeModelReport } from './quantize.js';

export interface CalibrationOptions {
  format: QuantFormat;
  /** how many calibration batches `forward` can run */
  batches: number;
  /** runs calibration batch `batch` (0 <= batch < batches) through the model's forward
   * pass (no gradients needed); it may be stopped part-way by an exception of ours */
  forward: (model: CausalLM, batch: number) => void;
  /** how many training examples the batches hold: recorded on the model (quantizeCalibration) */
  examples: number;
  /** GPTQ's dampening (gptq.ts GPTQ_DEFAULT_DAMP when absent) */
  damp?: number;
}

export interface CalibrationReport extends QuantizeModelReport {
  /** calibration tokens each layer saw */
  tokens: number;
}

/** Layers calibrated together: a decoder block's linear layers, or a layer outside the
 * numbered blocks (OPT-350m's project_in before them, project_out after them). */
interface Block {
  layers: [string, Linear][];
}

/** The chosen layers in the order the forward pass first calls them (batch 0, run once
 * whole), grouped: consecutive layers of the same numbered block (the first number in the
 * module path: `model.layers.3.mlp.up_proj` is block 3) together, any other layer alone.
 * Layers the forward pass never calls come last, one group. */
function blocksInCallOrder(model: CausalLM, chosen: [string, Linear][], o: CalibrationOptions): Block[] {
  const order: [string, Linear][] = [];
  const called = new Set<Linear>();
  for (const entry of chosen) {
    const lin = entry[1];
    lin.forward = (x, opts) => {
      if (!called.has(lin)) {
        called.add(lin);
        order.push(entry);
      }
      return Linear.prototype.forward.call(lin, x, opts);
    };
  }
  try {
    noGrad(() => o.forward(model, 0));
  } finally {
    for (const [, lin] of chosen) Reflect.deleteProperty(lin, 'forward');
  }
  const blockOf = (path: string): string => blockNumber(path) ?? `(${path})`;
  const blocks: Block[] = [];
  let last: string | null = null;
  for (const entry of order) {
    const key = blockOf(entry[0]);
    if (key !== last || key.startsWith('(')) blocks.push({ layers: [] });
    blocks.at(-1)!.layers.push(entry);
    last = key;
  }
  const never = chosen.filter(([, lin]) => !called.has(lin));
  if (never.length) blocks.push({ layers: never });
  return blocks;
}

/** Thrown by the first linear layer of the block after the one being calibrated: the rest
 * of the batch's forward pass is not needed. */
class BlockCalibrated {}

/** Quantizes `model`'s linear layers (not the LM head) to `o.format` with GPTQ on the
 * inputs the calibration batches give them, block by block. The model must not be
 * quantized yet. */
export function calibrateQuantize(model: CausalLM, o: CalibrationOptions): CalibrationReport {
  const chosen = quantizableLinears(model);
  if (chosen.length === 0) throw new RangeError('calibrateQuantize: the model has no dense linear layer to quantize');
  // before any forward pass: a layer too wide for the O(in^3) solve is a user's choice to undo
  const wide = chosen.find(([, lin]) => lin.inFeatures > GPTQ_MAX_IN);
  if (wide)
    throw new ColaError(
      `--quantize-calibration: ${wide[0]} takes ${wide[1].inFeatures} inputs, over the ${GPTQ_MAX_IN} that GPTQ's O(in^3) solve here allows; drop --quantize-calibration (round-to-nearest codes) for this model`,
    );
  if (!Number.isInteger(o.batches) || o.batches < 1) throw new RangeError(`calibrateQuantize: batches must be >= 1, got ${o.batches}`);
  const blocks = blocksInCallOrder(model, chosen, o);
  const report = { layers: chosen.length, bytesBefore: 0, bytesAfter: 0, tokens: 0 };
  blocks.forEach((block, b) => {
    const sums = calibrationSums(model, block, blocks.slice(b + 1), o);
    if (b === 0) report.tokens = sums[0]!.tokens;
    block.layers.forEach(([path, lin], i) => {
      const q = gptqLayer(lin, sums[i]!.xtx, o);
      report.bytesBefore += lin.weight.size * (lin.weight.dtype === 'bf16' ? 2 : 4);
      report.bytesAfter += q.bytes;
      model.setChild(path, q);
    });
  });
  model.quantizeOnLoad = o.format;
  model.quantizeCalibration = o.examples;
  return report;
}

/** X^T X of the inputs of `block`'s layers over every calibration batch, each batch
 * stopped at the first layer of the blocks after it. The hooks are removed afterwards. */
function calibrationSums(model: CausalLM, block: Block, later: Block[], o: CalibrationOptions): XtxSum[] {
  const sums = block.layers.map(([, lin]) => new XtxSum(lin.inFeatures));
  // q, k and v (gate and up) take the same input tensor: its X^T X is computed once
  const seen = new WeakMap<Tensor, Float64Array>();
  block.layers.forEach(([, lin], i) => {
    lin.forward = (x, opts) => {
      sums[i]!.add(x, seen);
      return Linear.prototype.forward.call(lin, x, opts);
    };
  });
  const stop = (): never => {
    throw new BlockCalibrated();
  };
  for (const [, lin] of later.flatMap((l) => l.layers)) lin.forward = stop;
  try {
    for (let batch = 0; batch < o.batches; batch++) {
      try {
        noGrad(() => o.forward(model, batch));
      } catch (e) {
        if (!(e instanceof BlockCalibrated)) throw e;
      }
    }
  } finally {
    for (const [, lin] of [block, ...later].flatMap((l) => l.layers)) Reflect.deleteProperty(lin, 'forward');
  }
  return sums;
}

function gptqLayer(lin: Linear, xtx: Float64Array, o: CalibrationOptions): QuantizedLinear {
  const w = lin.weight;
  const [rows, cols] = w.shape as [number, number];
  const values = w.dtype === 'f32' ? w.f32 : widen(w);
  return new QuantizedLinear(gptqQuantize({ weight: values, rows, cols, format: o.format, xtx, damp: o.damp }), lin.bias, w.backend);
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

/** X^T X of X [rows, n] (row-major) in f64: X transposed to columns, then one dot product
 * over the rows per (i, j >= i), summed in row order (deterministic: every entry is the
 * same sum whatever the blocking). Entries are computed 2 x 2 at a time (four sums from
 * four column reads), and the [n, n] result is touched once per call, not once per row. */
export function outerSum(X: Float32Array, rows: number, n: number): Float64Array {
  const c = new Float64Array(n * rows);
  for (let t = 0; t < rows; t++) for (let i = 0; i < n; i++) c[i * rows + t] = X[t * n + i]!;
  const out = new Float64Array(n * n);
  const set = (i: number, j: number, v: number): void => {
    out[i * n + j] = v;
    out[j * n + i] = v;
  };
  const dot = (i: number, j: number): number => {
    let s = 0;
    for (let t = 0, a = i * rows, b = j * rows; t < rows; t++) s += c[a + t]! * c[b + t]!;
    return s;
  };
  for (let i = 0; i + 1 < n; i += 2) {
    const a0 = i * rows;
    const a1 = a0 + rows;
    for (let j = i; j + 1 < n; j += 2) {
      const b0 = j * rows;
      const b1 = b0 + rows;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < rows; t++) {
        const x0 = c[a0 + t]!;
        const x1 = c[a1 + t]!;
        const y0 = c[b0 + t]!;
        const y1 = c[b1 + t]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      set(i, j, s00);
      set(i, j + 1, s01);
      set(i + 1, j, s10);
      set(i + 1, j + 1, s11);
    }
    if (n % 2) {
      set(i, n - 1, dot(i, n - 1));
      set(i + 1, n - 1, dot(i + 1, n - 1));
    }
  }
  if (n % 2) set(n - 1, n - 1, dot(n - 1, n - 1));
  return out;
}

function widen(t: Tensor): Float32Array {
  const out = new Float32Array(t.size);
  t.backend.castToF32(t.data as Uint16Array, out);
  return out;
}
