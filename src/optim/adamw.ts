import type { Tensor } from '../tensor/tensor.js';

export interface AdamWOptions {
  /** The rate of step() when it is called without one. */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameter groups (PyTorch's param_groups): each multiplies the step's learning rate
   * by its lrScale. Every parameter must belong to exactly one group; none given = one
   * group of all parameters at scale 1. LoRA+ puts B at scale loraplus_lr_ratio. */
  groups?: readonly ParamGroup[];
}

export interface ParamGroup {
  /** for logs and tests ('lora_A', 'lora_B', ...) */
  name: string;
  params: readonly Tensor[];
  /** this group's learning rate is lr * lrScale */
  lrScale: number;
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
  /** the groups, in order; every parameter is in one */
  readonly groups: readonly ParamGroup[];
  /** per parameter (same order as params): its group's lrScale */
  readonly lrScales: readonly number[];

  constructor(
    readonly params: readonly Tensor[],
    readonly opts: AdamWOptions,
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const p of params) if (p.dtype !== 'f32') throw new Error(`AdamW trains f32 parameters only, got ${p.dtype}`);
    this.groups = opts.groups ?? [{ name: 'all', params, lrScale: 1 }];
    const scaleOf = new Map<Tensor, number>();
    for (const g of this.groups) {
      if (!(g.lrScale > 0) || !Number.isFinite(g.lrScale)) throw new Error(`AdamW: group ${g.name} has lrScale ${g.lrScale}, expected > 0`);
      for (const p of g.params) {
        if (scaleOf.has(p)) throw new Error(`AdamW: a parameter is in two groups (${g.name} and another)`);
        scaleOf.set(p, g.lrScale);
      }
    }
    if (scaleOf.size !== params.length || params.some((p) => !scaleOf.has(p)))
      throw new Error('AdamW: the groups must hold exactly the optimized parameters');
    this.lrScales = params.map((p) => scaleOf.get(p)!);
    this.m = params.map((p) => p.backend.alloc('f32', p.size) as Float32Array);
    this.v = params.map((p) => p.backend.alloc('f32', p.size) as Float32Array);
  }

  /** One update with learning rate lr (default: the constructor's opts.lr) times each
   * parameter's group lrScale; parameters without a gradient are skipped. */
  step(lr: number = this.opts.lr): void {
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
          lr: lr * this.lrScales[i]!,
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
}
