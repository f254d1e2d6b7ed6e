import type { CausalLM } from '../models/causalLM.js';
import type { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DataOrder } from './dataOrder.js';
import type { Objective } from './objective.js';
import { ColaError } from '../errors.js';

export interface StepResult {
  step: number; // global optimizer steps done after this one
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  ms: number;
}

export interface TrainOptions {
  model: CausalLM;
  params: readonly Tensor[];
  optimizer: AdamW;
  objective: Objective;
  order: DataOrder;
  /** Global steps [from, to). */
  from: number;
  to: number;
  accum: number;
  maxGradNorm: number;
  lrAt(step: number): number;
  /** Called before each micro-batch (e.g. to seed dropout). */
  beforeMicroStep?(microIndex: number): void;
  onStep(r: StepResult): void;
  shouldStop(): boolean;
}

/** Thrown when the loss or gradients stop being finite: the run stops, the last
 * good checkpoint stays. */
export class NonFiniteError extends ColaError {}

/** The plain training loop (mlx-lm style): the caller owns model, optimizer and
 * data; a COLA link is one call. Returns the global step reached. */
export function train(o: TrainOptions): number {
  for (let step = o.from; step < o.to; step++) {
    if (o.shouldStop()) return step;
    const t0 = performance.now();
    o.optimizer.zeroGrad();
    let loss = 0;
    let tokens = 0;
    for (let a = 0; a < o.accum; a++) {
      const micro = step * o.accum + a;
      o.beforeMicroStep?.(micro);
      const r = o.objective.loss(o.model, o.order.batch(micro));
      const value = r.loss.item();
      if (!Number.isFinite(value))
        throw new NonFiniteError(`loss became ${value} at step ${step + 1}; stopping (lower --lr or enable --max-grad-norm)`);
      r.loss.backward();
      loss += value / o.accum;
      tokens += r.tokens;
    }
    if (o.accum > 1) for (const p of o.params) if (p.grad) p.backend.axpby(1 / o.accum, p.grad.f32, 0, p.grad.f32);
    const gradNorm = clipGradNorm(o.params, o.maxGradNorm);
    if (!Number.isFinite(gradNorm))
      throw new NonFiniteError(`gradient norm became ${gradNorm} at step ${step + 1}; stopping (lower --lr or set --max-grad-norm)`);
    const lr = o.lrAt(step);
    o.optimizer.step(lr);
    o.optimizer.zeroGrad();
    o.onStep({ step: step + 1, loss, lr, gradNorm, tokens, ms: performance.now() - t0 });
  }
  return o.to;
}
