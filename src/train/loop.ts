import type { CausalLM } from '../models/causalLM.js';
import type { AdamW } from '../optim/adamw.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DataOrder } from './dataOrder.js';
import type { Objective } from './objective.js';
import { ColaError } from '../errors.js';
import { rankSlice } from '../data/batching.js';
import { scale } from '../tensor/ops/elementwise.js';
import { allreduceGradients, reduceBatchTotals, SINGLE_PROCESS, type Parallel } from './distributed.js';

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
  /** Data-parallel ranks (train/distributed.ts); default: one process. */
  parallel?: Parallel;
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
    if (stopRequested(o)) return step;
    const t0 = performance.now();
    o.optimizer.zeroGrad();
    let loss = 0;
    let tokens = 0;
    for (let a = 0; a < o.accum; a++) {
      const micro = step * o.accum + a;
      o.beforeMicroStep?.(micro);
      const r = microStep(o, o.order.batch(micro), step);
      loss += r.loss / o.accum;
      tokens += r.tokens;
    }
    const comm = (o.parallel ?? SINGLE_PROCESS).comm;
    if (comm) allreduceGradients(comm, o.params);
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

function nonFinite(value: number, step: number): NonFiniteError {
  return new NonFiniteError(`loss became ${value} at step ${step + 1}; stopping (lower --lr or enable --max-grad-norm)`);
}

/** Forward and backward of one micro-batch; returns its loss (the mean over the whole
 * global batch) and token count. Under data parallelism this rank runs its slice, its
 * loss weighted by its share of the batch's loss units (see distributed.ts). */
function microStep(o: TrainOptions, batch: number[], step: number): { loss: number; tokens: number } {
  const p = o.parallel ?? SINGLE_PROCESS;
  if (!p.comm) {
    const r = o.objective.loss(o.model, batch);
    const value = r.loss.item();
    if (!Number.isFinite(value)) throw nonFinite(value, step);
    r.loss.backward();
    return { loss: value, tokens: r.tokens };
  }
  const slice = rankSlice(batch, p.rank, p.size);
  const r = slice.length > 0 ? o.objective.loss(o.model, slice) : null;
  const local = r ? { weight: r.weight, loss: r.loss.item(), tokens: r.tokens } : { weight: 0, loss: 0, tokens: 0 };
  const total = reduceBatchTotals(p.comm, local);
  if (total.nonFinite) throw nonFinite(NaN, step);
  if (r && local.weight > 0 && total.weight > 0) scale(r.loss, local.weight / total.weight).backward();
  return { loss: total.weight > 0 ? total.weightedLoss / total.weight : 0, tokens: total.tokens };
}

/** Under data parallelism a stop (Ctrl-C) reaches the ranks at different times: they
 * agree on it first, so all stop at the same step (one tiny collective per step). */
function stopRequested(o: TrainOptions): boolean {
  const comm = o.parallel?.comm;
  if (!comm) return o.shouldStop();
  const flag = new Float64Array([o.shouldStop() ? 1 : 0]);
  comm.allreduceF64(flag, 'stop flag');
  return flag[0]! > 0;
}
