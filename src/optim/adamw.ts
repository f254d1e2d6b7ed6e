import type { Tensor } from '../tensor/tensor.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** AdamW (Loshchilov & Hutter; PyTorch semantics: decoupled weight decay).
 * A COLA knot discards the optimizer and builds a new one for the new link, so
 * state is never keyed across model surgery (style.md, "what not to copy"). */
export class AdamW {
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  /** Optimizer steps taken (the bias-correction t). */
  t = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(
    readonly params: readonly Tensor[],
    readonly opts: AdamWOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const p of params) if (p.dtype !== 'f32') throw new Error(`AdamW trains f32 parameters only, got ${p.dtype}`);
    this.m = params.map((p) => p.backend.alloc('f32', p.size) as Float32Array);
    this.v = params.map((p) => p.backend.alloc('f32', p.size) as Float32Array);
  }

  /** One update with learning rate lr; parameters without a gradient are skipped. */
  step(lr: number): void {
    this.t++;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const grad = p.grad.f32;
      p.update((data) =>
        p.backend.adamw({
          param: data as Float32Array,
          grad,
          m: this.m[i]!,
          v: this.v[i]!,
          lr,
          beta1: this.beta1,
          beta2: this.beta2,
          eps: this.eps,
          weightDecay: this.weightDecay,
          step: this.t,
        }),
      );
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** ReLoRA's partial reset at a knot: zero all but the largest-|.| (magnitude) or
   * a random fraction (random) of each moment tensor; p = fraction pruned. */
  prune(mode: 'magnitude' | 'random', p: number, seed: number): void {
    const all = [...this.m, ...this.v];
    all.forEach((x, i) => (mode === 'magnitude' ? pruneMagnitude(x, p) : pruneRandom(x, p, seed + i)));
  }
}

function pruneMagnitude(x: Float32Array, p: number): void {
  const k = Math.floor(x.length * p);
  if (k <= 0) return;
  const sorted = Float32Array.from(x, Math.abs).sort();
  const threshold = sorted[k - 1]!;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) <= threshold) x[i] = 0;
}

function pruneRandom(x: Float32Array, p: number, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    if ((s >>> 0) / 4294967296 < p) x[i] = 0;
  }
}
