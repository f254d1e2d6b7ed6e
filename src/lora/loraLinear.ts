import type { Backend } from '../backend/backend.js';
import { finishLinear, Linear, type LinearLike, type LinearOptions } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { dropout } from '../tensor/ops/dropout.js';
import { add, scale } from '../tensor/ops/elementwise.js';
import { loraLinear } from '../tensor/ops/lora.js';
import { linear } from '../tensor/ops/matmul.js';
import { Tensor } from '../tensor/tensor.js';
import { isWeightInit, loraScale, type LoraInit } from './config.js';
import { doraForward, rowNorms } from './dora.js';
import { deriveSeed, initLoraA, mulberry32 } from './init.js';
import { weightInitFactors, type Factors } from './weightInit.js';
import { loftqIterOf, loftqLayer } from './loftq.js';

export interface LoraLinearOptions {
  r: number;
  alpha: number;
  /** probability on the LoRA input only (PEFT's lora_dropout) */
  dropout: number;
  useRslora: boolean;
  init: LoraInit;
  /** DoRA: a trainable magnitude per output row (dora.ts) */
  useDora?: boolean;
  /** seeds A's initialisation (and, until setDropoutSeed, the dropout masks) */
  seed: number;
  /** for a weight-derived init (pissa, olora): start with A = B = 0 and leave the base
   * alone; a checkpoint restore installs the recorded init instead (foldInit) */
  deferWeightInit?: boolean;
}

export interface MergeOptions {
  /** Keep a copy of the pre-merge weight so unmerge() restores it bit for bit (default
   * true). A COLA knot resets the adapter right after merging and passes false: the
   * copy would double the targeted weights' memory for nothing. */
  exactUnmerge?: boolean;
  /** On a quantized base (issue 17): re-quantize dequant(W) + residual + s B A into
   * new codes (--knot-into-base) instead of keeping s B A as an exact frozen residual.
   * Lossy and not undoable; merge() then returns the relative error it added. */
  requantize?: boolean;
}

/** A frozen Linear (or QuantizedLinear: a quantized base, issue 17) plus a trainable
 * low-rank path, as PEFT's lora.Linear:
 * y = base_layer(x) + s * B (A dropout(x)), A: [r, in], B: [out, r], both f32.
 * Property names are PEFT's, so parameter names equal PEFT's state-dict keys
 * (`q_proj.base_layer.weight`, `q_proj.lora_A.weight` after adapter-name removal). */
export class LoraLinear extends Module implements LinearLike {
  base_layer: Linear | QuantizedLinear;
  lora_A: Tensor; // [r, in]
  lora_B: Tensor; // [out, r]
  /** DoRA's m [out] (PEFT's lora_magnitude_vector), null without DoRA */
  lora_magnitude_vector: Tensor | null = null;
  /** The link's weight-derived init (PiSSA/OLoRA), already subtracted from the base:
   * W_base = W - s B0 A0. Null for kaiming/gaussian. The chain records it (a knot's replay
   * and the export relative to the original weights need it). */
  initFactors: Factors | null = null;
  private _r: number;
  private _alpha: number;
  private readonly _useRslora: boolean;
  private readonly _init: LoraInit;
  private readonly _useDora: boolean;
  private readonly _dropout: number;
  private _merged = false;
  /** the merge re-quantized a quantized base: it cannot be undone */
  private _requantized = false;
  /** f32 master of a bf16 base weight, made on the first merge (not at wrap time, so
   * plain LoRA training pays no memory for it). Knots accumulate here in f32 and
   * only the rounded copy goes to the live weight: repeated merges never compound
   * bf16 rounding (ReLoRA keeps f32 masters for the same reason). */
  private _master: Float32Array | null = null;
  /** pre-merge weight (f32) or master (bf16 base) for an exact unmerge */
  private _undo: Float32Array | null = null;
  /** HF convention: modules start in eval mode; the training loop turns dropout on */
  private _training = false;
  private _dropoutSeed: number;
  private _dropoutCalls = 0;

  constructor(base: Linear | QuantizedLinear, opts: LoraLinearOptions) {
    super();
    this.base_layer = base;
    if (base instanceof Linear) base.weight.requiresGrad = false; // the base stays frozen; biases per trainBias (inject.ts)
    this._r = opts.r;
    this._alpha = opts.alpha;
    this._useRslora = opts.useRslora;
    this._init = opts.init;
    this._useDora = opts.useDora ?? false;
    this._dropout = opts.dropout;
    this._dropoutSeed = deriveSeed(opts.seed, 0x0d0d);
    [this.lora_A, this.lora_B] = this.freshAdapter(opts.seed, opts.r, opts.deferWeightInit ?? false);
    const iter = loftqIterOf(opts.init);
    if (iter !== null) this.loftqFirstLink(iter);
  }

  /** LoftQ (loftq.ts) for the first link only: re-choose the quantized base's codes from
   * the dense weight it kept and start the adapter at the factors chosen with them
   * (dequant(Q) + s B A ~ W). The base is not changed otherwise (no fold: initFactors stays
   * null), so the exported adapter is relative to dequant(Q). Later links (resetAdapter)
   * start as kaiming (B = 0). On a resume the codes are rebuilt the same way and the
   * checkpoint's adapter replaces these factors. */
  private loftqFirstLink(iter: number): void {
    const f = loftqLayer(this.base_layer, { path: 'LoRA layer', r: this._r, scale: this.scaling, iter, init: this._init });
    this.setAdapter(f.A, f.B, this._r);
  }

  get init(): LoraInit {
    return this._init;
  }

  get useDora(): boolean {
    return this._useDora;
  }

  get inFeatures(): number {
    return this.base_layer.inFeatures;
  }

  get outFeatures(): number {
    return this.base_layer.outFeatures;
  }

  get r(): number {
    return this._r;
  }

  get alpha(): number {
    return this._alpha;
  }

  /** s = alpha / r, or alpha / sqrt(r) with rsLoRA */
  get scaling(): number {
    return loraScale(this._alpha, this._r, this._useRslora);
  }

  get merged(): boolean {
    return this._merged;
  }

  private get backend(): Backend {
    const base = this.base_layer;
    return base instanceof QuantizedLinear ? base.backend : base.weight.backend;
  }

  /** Honours Linear's options: a residual is added inside the fused op; an
   * activation (no fused LoRA kernel) is applied after it. */
  forward(x: Tensor, opts: LinearOptions = {}): Tensor {
    if (this._merged) return this.base_layer.forward(x, opts); // the delta is inside the weight already
    const h = this._training && this._dropout > 0 ? dropout(x, this._dropout, deriveSeed(this._dropoutSeed, this._dropoutCalls++)) : x;
    const base = this.base_layer;
    if (this.lora_magnitude_vector) {
      // DoRA needs a dense base (a quantized one is refused in runConfig.ts)
      if (!(base instanceof Linear)) throw new Error('LoraLinear: DoRA on a quantized base is not supported');
      const m = this.lora_magnitude_vector;
      const norms = rowNorms(this.weightF32(), this.deltaWeight(), this.outFeatures); // detached (DoRA sec. 4.3)
      return finishLinear(doraForward({ x, h, base, A: this.lora_A, B: this.lora_B, scale: this.scaling, m, norms }), opts);
    }
    // One fused op (ops/lora.ts) over a dense or a quantized base; the composed form
    // stays for bf16 biases.
    const weight = base instanceof Linear ? base.weight : base instanceof QuantizedLinear ? base.base : null;
    if (weight && (!base.bias || base.bias.dtype === 'f32')) {
      const params = { weight, bias: base.bias, A: this.lora_A, B: this.lora_B, scale: this.scaling, h };
      if (!opts.activation) return loraLinear(x, { ...params, residual: opts.residual });
      if (opts.activation === 'relu' && !opts.residual) return loraLinear(x, { ...params, relu: true });
      return finishLinear(loraLinear(x, params), opts);
    }
    const z = scale(linear(h, this.lora_A), this.scaling); // (..., r): scaling the narrow side is cheapest
    return finishLinear(add(this.base_layer.forward(x), linear(z, this.lora_B)), opts); // (..., out)
  }

  /** Dropout on (true) or off; off by default, like a freshly loaded HF model. */
  setTraining(flag: boolean): void {
    this._training = flag;
  }

  /** Masks depend only on (seed, step, call number within the step), so a run, or a
   * resumed run, draws the same masks. Call once per optimizer step (or micro-batch). */
  setDropoutSeed(seed: number, step = 0): void {
    this._dropoutSeed = deriveSeed(seed, step);
    this._dropoutCalls = 0;
  }

  /** s * B A as f32 [out, in], computed in f32 whatever the base dtype (PEFT merges
   * in f32 too, then casts). */
  deltaWeight(): Float32Array {
    const out = this.outFeatures;
    const inF = this.inFeatures;
    const delta = this.backend.alloc('f32', out * inF) as Float32Array;
    this.backend.matmul({
      a: this.lora_B.f32,
      b: this.lora_A.f32,
      c: delta,
      batch: 1,
      m: out,
      n: inF,
      k: this._r,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
      alpha: this.scaling,
      beta: 0,
      aDtype: 'f32',
      bDtype: 'f32',
    });
    return delta;
  }

  /** W <- W + s B A (a COLA knot's first half). The weight tensor is updated in place,
   * so every holder of it sees the merged values. On a quantized base the link joins
   * the base's frozen low-rank residual instead (exact: the codes are never touched),
   * unless `requantize`. Returns the relative error the merge added: 0, except for a
   * re-quantization. */
  merge(opts: MergeOptions = {}): number {
    if (this._merged) throw new Error('LoraLinear.merge(): already merged; unmerge() or resetAdapter() first');
    const base = this.base_layer;
    if (base instanceof QuantizedLinear) {
      this._merged = true;
      if (opts.requantize) {
        this._requantized = true;
        return base.requantize(this.deltaWeight());
      }
      base.appendLink({ A: this.lora_A.f32, B: this.lora_B.f32, r: this._r, scale: this.scaling });
      return 0;
    }
    if (opts.requantize) throw new Error('LoraLinear.merge(): requantize needs a quantized base');
    const w = base.weight;
    const delta = this.deltaWeight();
    const target = w.dtype === 'bf16' ? this.syncedMaster() : w.f32;
    this._undo = (opts.exactUnmerge ?? true) ? target.slice() : null;
    const m = this.lora_magnitude_vector?.f32;
    w.update((data) => {
      this.backend.axpby(1, delta, 1, target); // target is data itself for an f32 weight
      // DoRA (PEFT's merge): W' = (m / ||W + s B A||_row) (W + s B A)
      if (m) scaleRows(target, dividedBy(m, rowNorms(target, null, this.outFeatures)), this.inFeatures);
      if (w.dtype === 'bf16') this.backend.castToBf16(target, data as Uint16Array);
    });
    this._merged = true;
    return 0;
  }

  /** DoRA's factor m / ||W + s B A||_row [out] for the current weight and adapter: what a
   * merge multiplies each row by (1 without DoRA, null then). */
  doraFactor(): Float32Array | null {
    const m = this.lora_magnitude_vector?.f32;
    return m ? dividedBy(m, rowNorms(this.weightF32(), this.deltaWeight(), this.outFeatures)) : null;
  }

  /** Subtract s B0 A0 from the base weight and install (A0, B0) as the adapter: a
   * weight-derived init (PiSSA/OLoRA), or its replay on resume (the same f32 ops in the
   * same order, so the weights come back bit for bit). */
  foldInit(init: Factors): void {
    if (this._merged) throw new Error('LoraLinear.foldInit(): unmerge() or resetAdapter() first');
    const base = this.base_layer;
    // PiSSA/OLoRA rewrite the base weight (a quantized base is refused in runConfig.ts)
    if (!(base instanceof Linear)) throw new Error('LoraLinear.foldInit(): a weight-derived init needs a dense base');
    this.setAdapter(init.A, init.B, this._r);
    const w = base.weight;
    const delta = this.deltaWeight();
    const target = w.dtype === 'bf16' ? this.syncedMaster() : w.f32;
    w.update((data) => {
      this.backend.axpby(-1, delta, 1, target);
      if (w.dtype === 'bf16') this.backend.castToBf16(target, data as Uint16Array);
    });
    this.initFactors = { A: init.A.slice(), B: init.B.slice() };
    if (this._useDora) this.resetMagnitude();
  }

  /** DoRA's fresh magnitude m = ||W + s B A||_row (PEFT's dora_init): the adapter starts
   * as the identity on the model's output. */
  resetMagnitude(): void {
    const m = rowNorms(this.weightF32(), this.deltaWeight(), this.outFeatures);
    this.lora_magnitude_vector = this.leaf(m, [this.outFeatures]);
  }

  /** Install a magnitude vector [out] (a loaded adapter, a checkpoint). */
  setMagnitude(m: Float32Array): void {
    if (m.length !== this.outFeatures) throw new Error(`LoraLinear.setMagnitude(): expected ${this.outFeatures} values, got ${m.length}`);
    this.lora_magnitude_vector = this.leaf(m, [this.outFeatures]);
  }

  /** Undo merge(): bit-exact from the saved copy, else by subtracting s B A (PEFT's way). */
  unmerge(): void {
    if (!this._merged) throw new Error('LoraLinear.unmerge(): not merged');
    const base = this.base_layer;
    if (base instanceof QuantizedLinear) {
      if (this._requantized) throw new Error('LoraLinear.unmerge(): the merge was re-quantized into the base and cannot be undone');
      base.popLink();
      this._merged = false;
      return;
    }
    if (!this._undo && this.lora_magnitude_vector) throw new Error('LoraLinear.unmerge(): a DoRA merge keeps no undo copy here');
    const w = base.weight;
    const target = w.dtype === 'bf16' ? this._master! : w.f32;
    w.update((data) => {
      if (this._undo)
        target.set(this._undo); // target is data itself for an f32 weight
      else this.backend.axpby(-1, this.deltaWeight(), 1, target);
      if (w.dtype === 'bf16') this.backend.castToBf16(target, data as Uint16Array);
    });
    this._undo = null;
    this._merged = false;
  }

  /** Start a new link: fresh A (seeded), B = 0, optionally a new rank (COLA's rank
   * step-down) and alpha. New tensor objects, so no optimizer state can carry over.
   * A merged delta stays in the weight: merge -> resetAdapter is the knot. */
  resetAdapter(seed: number, rank = this._r, alpha = this._alpha, opts: { deferWeightInit?: boolean } = {}): void {
    this._r = rank;
    this._alpha = alpha;
    this._merged = false;
    this._requantized = false;
    this._undo = null;
    [this.lora_A, this.lora_B] = this.freshAdapter(seed, rank, opts.deferWeightInit ?? false);
  }

  /** Install given adapter values (a loaded PEFT adapter, a stacked chain):
   * A [r, in] and B [out, r], copied. */
  setAdapter(A: Float32Array, B: Float32Array, r: number, alpha = this._alpha): void {
    if (this._merged) throw new Error('LoraLinear.setAdapter(): unmerge() first');
    if (A.length !== r * this.inFeatures || B.length !== this.outFeatures * r) {
      throw new Error(
        `LoraLinear.setAdapter(): A needs ${r}x${this.inFeatures} and B ${this.outFeatures}x${r} values, got ${A.length} and ${B.length}`,
      );
    }
    this._r = r;
    this._alpha = alpha;
    this.lora_A = this.leaf(A, [r, this.inFeatures]);
    this.lora_B = this.leaf(B, [this.outFeatures, r]);
    this._undo = null;
  }

  /** Forget the f32 master (e.g. after the base weight was replaced from outside). */
  dropMaster(): void {
    this._master = null;
  }

  /** A fresh link's adapter. kaiming/gaussian: seeded A, B = 0. pissa/olora: A and B from
   * the current (merged) weight, which becomes the residual (foldInit). DoRA: then
   * m = ||W + s B A||_row. Either way the model's output is unchanged. */
  private freshAdapter(seed: number, r: number, deferWeightInit: boolean): [Tensor, Tensor] {
    this._r = r;
    this.initFactors = null;
    const zeros = (n: number) => new Float32Array(n);
    if (isWeightInit(this._init)) {
      this.lora_A = this.leaf(zeros(r * this.inFeatures), [r, this.inFeatures]);
      this.lora_B = this.leaf(zeros(this.outFeatures * r), [this.outFeatures, r]);
      if (!deferWeightInit) {
        const args = { weight: this.weightF32(), out: this.outFeatures, inF: this.inFeatures, r, scale: this.scaling, seed };
        this.foldInit(weightInitFactors(this._init, args));
      }
    } else {
      // LoftQ's later links (and its first before loftqFirstLink) start as kaiming
      const kind = this._init === 'gaussian' ? 'gaussian' : 'kaiming';
      const A = initLoraA(kind, r, this.inFeatures, mulberry32(seed));
      this.lora_A = this.leaf(A, [r, this.inFeatures]);
      this.lora_B = this.leaf(zeros(this.outFeatures * r), [this.outFeatures, r]);
    }
    if (this._useDora) this.resetMagnitude();
    return [this.lora_A, this.lora_B];
  }

  /** The base weight as f32 [out, in] (the f32 master of a bf16 weight once merged). */
  weightF32(): Float32Array {
    const base = this.base_layer;
    if (!(base instanceof Linear)) throw new Error('LoraLinear.weightF32(): a quantized base has no dense weight');
    const w = base.weight;
    return w.dtype === 'bf16' ? this.syncedMaster() : w.f32;
  }

  private leaf(values: Float32Array, shape: number[]): Tensor {
    const data = this.backend.alloc('f32', values.length) as Float32Array;
    data.set(values);
    return new Tensor(data, shape, 'f32', this.backend, true);
  }

  /** The f32 master of the bf16 weight, rebuilt when the live weight no longer is its
   * rounding (someone wrote the weight directly), so a stale master never wins. */
  private syncedMaster(): Float32Array {
    const w = (this.base_layer as Linear).weight; // merge() reaches here for a Linear base only
    const live = w.data as Uint16Array;
    if (this._master) {
      const rounded = this.backend.alloc('bf16', live.length) as Uint16Array;
      this.backend.castToBf16(this._master, rounded);
      if (rounded.every((v, i) => v === live[i])) return this._master;
    }
    this._master = this.backend.alloc('f32', live.length) as Float32Array;
    this.backend.castToF32(live, this._master);
    return this._master;
  }
}

/** m / n elementwise, [out] */
function dividedBy(m: Float32Array, n: Float32Array): Float32Array {
  return m.map((x, i) => x / n[i]!);
}

/** Row o of W [out, in] times c[o], in place. */
function scaleRows(W: Float32Array, c: Float32Array, inF: number): void {
  for (let o = 0; o < c.length; o++) for (let i = o * inF; i < (o + 1) * inF; i++) W[i] = W[i]! * c[o]!;
}
