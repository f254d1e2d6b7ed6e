import type { Backend } from '../backend/backend.js';
import { dequantize, withDoubleQuant } from '../backend/quant/codec.js';
import { quantBytes, type QuantFormat, type QuantizeOptions, type QuantWeight } from '../backend/quant/format.js';
import type { LowRankResidual, QuantBase } from '../tensor/ops/layerWeight.js';
import { Tensor } from '../tensor/tensor.js';
import { applyLinear, type Linear, type LinearLike, type LinearOptions } from './linear.js';
import { Module } from './module.js';

/** One merged link for the residual: A [r, in], B [out, r], scale s. */
export interface ResidualLink {
  A: Float32Array;
  B: Float32Array;
  r: number;
  scale: number;
}

/** A frozen linear layer whose weight is quantized (issue 17), plus the frozen
 * low-rank residual of the COLA links merged so far:
 *   y = x dequant(W)^T + b + x (Σ_j s_j B_j A_j)^T.
 * A knot appends to the residual instead of re-quantizing W, so the model stays
 * exactly dequant(W) + Σ_j s_j B_j A_j (the exported whole-chain adapter on the
 * dequantized base), at Σ r_j (in + out) f32 values per layer. `requantize()` is
 * the opt-in alternative (--knot-into-base). The codes are private state, not a
 * parameter: nothing trains or saves them through the module tree. */
export class QuantizedLinear extends Module implements LinearLike {
  bias: Tensor | null;
  private _weight: QuantWeight;
  private _residual: LowRankResidual | null = null;
  /** ranks of the links in the residual, in order (for popLink) */
  private _ranks: number[] = [];
  private readonly _backend: Backend;
  /** The dense f32 weight the codes were made from, kept only until a LoftQ init
   * (lora/loftq.ts) re-chooses the codes (takeDenseSource); null otherwise. */
  private _denseSource: Float32Array | null = null;

  constructor(weight: QuantWeight, bias: Tensor | null, backend: Backend) {
    super();
    this._weight = weight;
    this._backend = backend;
    this.bias = bias ? widenBias(bias) : null;
  }

  /** Quantize a Linear's weight (f32 or bf16) with its backend's quantizer (the codec's
   * bytes; native: all threads); the bias stays (as f32: it is tiny). */
  static fromLinear(lin: Linear, format: QuantFormat, opts: QuantizeOptions = {}, keepDense = false): QuantizedLinear {
    const w = lin.weight;
    const [rows, cols] = w.shape as [number, number];
    const values = w.dtype === 'f32' ? w.f32 : widen(w);
    const q = new QuantizedLinear(w.backend.quantize({ values, rows, cols, format, ...opts }), lin.bias, w.backend);
    if (keepDense) q._denseSource = Float32Array.from(values);
    return q;
  }

  /** The dense weight kept at quantization (fromLinear's keepDense), handed over once and
   * forgotten (LoftQ re-quantizes from it); null when none was kept or it was taken. */
  takeDenseSource(): Float32Array | null {
    const w = this._denseSource;
    this._denseSource = null;
    return w;
  }

  /** Quantize `values` [out, in] the way this layer's codes are (format, double
   * quantization, group size): LoftQ's quantizer. */
  quantizeLikeBase(values: Float32Array): QuantWeight {
    const w = this._weight;
    return this._backend.quantize({
      values,
      rows: w.rows,
      cols: w.cols,
      format: w.format,
      ...(w.doubleQuant ? { doubleQuant: true } : {}),
      ...(w.groupSize !== undefined ? { groupSize: w.groupSize } : {}),
    });
  }

  /** Replace the codes by others of the same shape and format (LoftQ's), before any link
   * was merged into the residual. */
  replaceCodes(codes: QuantWeight): void {
    const w = this._weight;
    if (codes.rows !== w.rows || codes.cols !== w.cols || codes.format !== w.format)
      throw new Error(`QuantizedLinear.replaceCodes(): needs ${w.format} ${w.rows}x${w.cols} codes`);
    if (this._residual) throw new Error('QuantizedLinear.replaceCodes(): links are merged into the residual already');
    this._weight = codes;
  }

  get inFeatures(): number {
    return this._weight.cols;
  }

  get outFeatures(): number {
    return this._weight.rows;
  }

  get weight(): QuantWeight {
    return this._weight;
  }

  get format(): QuantFormat {
    return this._weight.format;
  }

  get backend(): Backend {
    return this._backend;
  }

  /** Σ r_j of the merged links held beside the codes. */
  get residualRank(): number {
    return this._ranks.reduce((s, r) => s + r, 0);
  }

  /** Bytes held: codes, scales and the residual's f32 factors. */
  get bytes(): number {
    return (
      quantBytes(this.format, this.outFeatures, this.inFeatures, this._weight.doubleQuant !== undefined, this._weight.groupSize) +
      4 * this.residualRank * (this.inFeatures + this.outFeatures)
    );
  }

  /** The codes and residual as the fused ops take them (tensor/ops/layerWeight.ts). */
  get base(): QuantBase {
    return { quant: this._weight, residual: this._residual };
  }

  /** Fused as Linear.forward is (a ReLU after the product, a residual added onto it),
   * so a quantized block holds what a dense one does; the same numbers as composed. */
  forward(x: Tensor, opts: LinearOptions = {}): Tensor {
    return applyLinear(x, this.base, this.bias, opts);
  }

  /** QLoRA's double quantization of an nf4 weight's block scales (codec.ts
   * withDoubleQuant; a no-op when they already are): the codes stay, the scales shrink
   * from 32 to ~8 bits per block. */
  doubleQuantizeScales(): void {
    if (this.format !== 'nf4') throw new Error(`QuantizedLinear.doubleQuantizeScales(): needs nf4, not ${this.format}`);
    if (!this._weight.doubleQuant) this._weight = withDoubleQuant(this._weight);
  }

  /** dequant(W) + Σ_j s_j B_j A_j as f32 [out, in]: the weight this layer applies. */
  effectiveWeight(): Float32Array {
    const w = dequantize(this._weight);
    if (this._residual) this.addResidual(w);
    return w;
  }

  /** Append a merged link: A_j below the stacked A, s_j B_j beside the stacked B
   * (the scale folded into B as lora/chain.ts stackChain folds it for the export). */
  appendLink(link: ResidualLink): void {
    const { r, scale } = link;
    const inF = this.inFeatures;
    const outF = this.outFeatures;
    if (link.A.length !== r * inF || link.B.length !== outF * r)
      throw new Error(`QuantizedLinear.appendLink(): A must be ${r}x${inF} and B ${outF}x${r}`);
    const R0 = this.residualRank;
    const R = R0 + r;
    const A = new Float32Array(R * inF);
    const B = new Float32Array(outF * R);
    if (this._residual) A.set(this._residual.A.f32);
    A.set(link.A, R0 * inF);
    const oldB = this._residual?.B.f32;
    for (let o = 0; o < outF; o++) {
      if (oldB) B.set(oldB.subarray(o * R0, (o + 1) * R0), o * R);
      for (let k = 0; k < r; k++) B[o * R + R0 + k] = link.B[o * r + k]! * scale;
    }
    this.setResidual(A, B, R);
    this._ranks.push(r);
  }

  /** Remove the last appended link (an unmerge). */
  popLink(): void {
    const r = this._ranks.pop();
    if (r === undefined) throw new Error('QuantizedLinear.popLink(): no merged link');
    const R = this.residualRank;
    const old = this._residual!;
    if (R === 0) {
      this._residual = null;
      return;
    }
    const inF = this.inFeatures;
    const outF = this.outFeatures;
    const B = new Float32Array(outF * R);
    for (let o = 0; o < outF; o++) B.set(old.B.f32.subarray(o * (R + r), o * (R + r) + R), o * R);
    this.setResidual(old.A.f32.slice(0, R * inF), B, R);
  }

  /** --knot-into-base: W <- quantize(dequant(W) + residual + delta) in the same
   * format, residual dropped. Returns the relative Frobenius error the re-quantization
   * adds, |dequant(W') - (dequant(W) + residual + delta)| / |dequant(W) + residual + delta|. */
  requantize(delta: Float32Array): number {
    const exact = this.effectiveWeight();
    for (let i = 0; i < exact.length; i++) exact[i]! += delta[i]!;
    const doubleQuant = this._weight.doubleQuant !== undefined;
    this._weight = this._backend.quantize({
      values: exact,
      rows: this.outFeatures,
      cols: this.inFeatures,
      format: this.format,
      doubleQuant,
      groupSize: this._weight.groupSize,
    });
    this._residual = null;
    this._ranks = [];
    const got = dequantize(this._weight);
    let num = 0;
    let den = 0;
    for (let i = 0; i < exact.length; i++) {
      num += (got[i]! - exact[i]!) ** 2;
      den += exact[i]! ** 2;
    }
    return den > 0 ? Math.sqrt(num / den) : 0;
  }

  /** w += B A (the stacked residual, scales already in B), in f32. */
  private addResidual(w: Float32Array): void {
    const { A, B } = this._residual!;
    const R = A.dim(0);
    this._backend.matmul({
      a: B.f32,
      b: A.f32,
      c: w,
      batch: 1,
      m: this.outFeatures,
      n: this.inFeatures,
      k: R,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
      alpha: 1,
      beta: 1,
      aDtype: 'f32',
      bDtype: 'f32',
    });
  }

  private setResidual(A: Float32Array, B: Float32Array, R: number): void {
    this._residual = { A: this.frozen(A, [R, this.inFeatures]), B: this.frozen(B, [this.outFeatures, R]) };
  }

  private frozen(values: Float32Array, shape: number[]): Tensor {
    const data = this._backend.alloc('f32', values.length) as Float32Array;
    data.set(values);
    return new Tensor(data, shape, 'f32', this._backend, false);
  }
}

function widen(t: Tensor): Float32Array {
  const out = t.backend.alloc('f32', t.size) as Float32Array;
  t.backend.castToF32(t.data as Uint16Array, out);
  return out;
}

/** An f32 copy of a bf16 bias (the quantized product takes an f32 bias). */
function widenBias(b: Tensor): Tensor {
  if (b.dtype === 'f32') return b;
  const t = new Tensor(widen(b), [...b.shape], 'f32', b.backend, false);
  t.requiresGrad = b.requiresGrad;
  return t;
}
