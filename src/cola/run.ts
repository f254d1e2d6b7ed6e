/** A run: plan the chain, then for each link train() and knot(). LoRA is the chain of
 * one link, ReLoRA a chain with knots every N steps, full fine-tuning one link over every
 * weight. Dev is evaluated at the same steps for every method (plan.ts), the best by
 * `eval.selectBy` is exported to best/, and checkpoints let a run resume exactly. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import type { Metrics } from '../eval/evaluate.js';
import type { CausalLM } from '../models/causalLM.js';
import { chainLr } from '../optim/schedule.js';
import { noGrad } from '../tensor/autograd.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { DataOrder } from '../train/dataOrder.js';
import { checkReplicasAgree, isWriter, SINGLE_PROCESS, type Parallel } from '../train/distributed.js';
import { train } from '../train/loop.js';
import type { MetricsLog } from '../train/metricsLog.js';
import type { Objective } from '../train/objective.js';
import { Chain } from './chain.js';
import type { Best } from './chainState.js';
import { exportChain } from './export.js';
import { planRun, type Link, type RunPlan } from './plan.js';
import type { RunConfig } from './runConfig.js';

export interface RunInputs {
  model: CausalLM;
  objective: Objective;
  /** Dev metrics, with `loss` (the training objective on dev) and the task metric. */
  dev?: () => Metrics;
  /** Test metrics, logged beside dev at every evaluation (never used to select). */
  test?: () => Metrics;
  /** The task metric and whether larger is better (default: perplexity, lower). */
  metric?: { name: string; higherIsBetter: boolean };
  log: MetricsLog;
  shouldStop: () => boolean;
  /** Written into adapter_config.json's base_model_name_or_path. */
  baseModel: string;
  /** Data-parallel ranks (issue 19): each trains on its slice of every batch; only rank 0
   * evaluates and writes (checkpoints, exports; `log` must be silent on the others). */
  parallel?: Parallel;
}

export interface RunSummary {
  steps: number;
  links: Link[];
  stopped: boolean;
  finalLoss: number;
  best: Best | null;
}

export function runChain(cfg: RunConfig, io: RunInputs): RunSummary {
  fs.mkdirSync(cfg.outDir, { recursive: true });
  const order = new DataOrder(io.objective.lengths(), cfg.budget.batchSize, cfg.seed);
  const plan = planRun(cfg, order.perEpoch);
  const chain = new Chain(io.model, cfg, plan.links);
  if (cfg.resume) resume(chain, cfg, io.log);
  else io.log.reset();
  const writer = isWriter(io.parallel ?? SINGLE_PROCESS);
  const save = (): void => {
    if (writer) saveCheckpoint(cfg.outDir, chain.snapshot(io.log.bytes()));
  };
  let lastLoss = NaN;
  for (const link of plan.links) {
    if (chain.step >= link.end) continue;
    lastLoss = trainLink(chain, link, { cfg, io, plan, order }) ?? lastLoss;
    if (chain.step < link.end) {
      save();
      return { steps: chain.step, links: plan.links, stopped: true, finalLoss: lastLoss, best: chain.best };
    }
    const next = plan.links[link.index + 1];
    if (next) tieKnot(chain, link, next, io, order);
    save();
  }
  if (writer) exportChain({ cfg, chain, links: plan.links, baseModel: io.baseModel, outDir: cfg.outDir });
  io.log.write({ event: 'done', step: chain.step, final_loss: Number.isNaN(lastLoss) ? lastStepLoss(io.log) : lastLoss, best: chain.best });
  return { steps: chain.step, links: plan.links, stopped: false, finalLoss: lastLoss, best: chain.best };
}

interface LinkContext {
  cfg: RunConfig;
  io: RunInputs;
  plan: RunPlan;
  order: DataOrder;
}

/** One link's steps; returns the last step's loss (undefined when no step ran). */
function trainLink(chain: Chain, link: Link, { cfg, io, plan, order }: LinkContext): number | undefined {
  const schedule = { kind: cfg.optim.schedule, peak: cfg.optim.lr, warmup: cfg.optim.warmupSteps, total: plan.totalSteps };
  const evalAt = new Set(plan.evalSteps);
  let loss: number | undefined;
  const parallel = io.parallel ?? SINGLE_PROCESS;
  const writer = isWriter(parallel);
  chain.setTraining(true);
  train({
    model: chain.model,
    params: chain.params(),
    optimizer: chain.optimizer,
    objective: io.objective,
    order,
    from: chain.step,
    to: link.end,
    accum: cfg.budget.gradAccum,
    parallel,
    maxGradNorm: cfg.optim.maxGradNorm,
    lrAt: (s) => chainLr(cfg.chain.schedule, schedule, link, s, cfg.chain.rewarmupSteps),
    // each rank draws its own masks (one process: the stream is micro itself); with
    // --lora-dropout > 0 a data-parallel run is equivalent in distribution, not bit for bit
    beforeMicroStep: (micro) => chain.seedDropout(micro * parallel.size + parallel.rank),
    onStep: (r) => {
      chain.step = r.step;
      loss = r.loss;
      const { loss: l, lr, gradNorm, tokens, ms } = r;
      const epoch = r.step / plan.stepsPerEpoch;
      io.log.write({
        event: 'step',
        step: r.step,
        link: link.index,
        epoch,
        loss: l,
        lr,
        grad_norm: gradNorm,
        tokens,
        tokens_per_s: (tokens * 1000) / ms,
        ms,
      });
      if (!writer) return;
      if (io.dev && evalAt.has(r.step)) evaluate(chain, link, cfg, io);
      if (cfg.saveEvery > 0 && r.step % cfg.saveEvery === 0 && r.step !== link.end)
        saveCheckpoint(cfg.outDir, chain.snapshot(io.log.bytes()));
    },
    shouldStop: io.shouldStop,
  });
  chain.setTraining(false);
  return loss;
}

function evaluate(chain: Chain, link: Link, cfg: RunConfig, io: RunInputs): void {
  const metric = io.metric ?? { name: 'perplexity', higherIsBetter: false };
  const key = cfg.eval.selectBy === 'loss' ? 'loss' : metric.name;
  const higher = cfg.eval.selectBy === 'loss' ? false : metric.higherIsBetter;
  const { metrics, improved } = chain.evaluate(io.dev!, key, higher);
  const test = io.test ? noGrad(io.test) : {};
  const prefixed = (p: string, m: Metrics) => Object.fromEntries(Object.entries(m).map(([k, v]) => [`${p}_${k}`, v]));
  io.log.write({
    event: 'eval',
    step: chain.step,
    link: link.index,
    select_by: key,
    ...prefixed('dev', metrics),
    ...prefixed('test', test),
  });
  if (improved && cfg.method !== 'full')
    exportChain({ cfg, chain, links: [], baseModel: io.baseModel, outDir: path.join(cfg.outDir, 'best'), adapterOnly: true });
}

/** merge -> fresh adapters -> new optimizer, with the loss on the first batch before and
 * after (a knot must not change the model's function: the two agree). */
function tieKnot(chain: Chain, link: Link, next: Link, io: RunInputs, order: DataOrder): void {
  const comm = (io.parallel ?? SINGLE_PROCESS).comm;
  const writer = isWriter(io.parallel ?? SINGLE_PROCESS);
  const probe = (): number => (writer ? noGrad(() => io.objective.loss(chain.model, order.batch(0)).loss.item()) : NaN);
  const before = probe();
  const { deltaNorm } = chain.knot(link, next);
  if (comm) checkReplicasAgree(comm, chain.mergedWeights(), `the merged weights after the knot at step ${chain.step}`);
  const after = probe();
  io.log.write({
    event: 'knot',
    step: chain.step,
    link: link.index,
    next_link: next.index,
    rank: link.rank,
    next_rank: next.rank,
    delta_norm: deltaNorm,
    loss_before: before,
    loss_after: after,
  });
}

function resume(chain: Chain, cfg: RunConfig, log: MetricsLog): void {
  const ckpt = loadCheckpoint(cfg.outDir);
  if (!ckpt) throw new ColaError(`${cfg.outDir}: --resume given but the run folder has no checkpoint`);
  const state = chain.restore(ckpt, path.join(cfg.outDir, 'checkpoint'));
  log.truncate(state.metricsBytes);
}

/** The loss of the last step event (a run resumed at its last step trains no step). */
function lastStepLoss(log: MetricsLog): number | null {
  if (!fs.existsSync(log.file)) return null;
  const lines = fs.readFileSync(log.file, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as { event?: string; loss?: number };
      if (e.event === 'step' && typeof e.loss === 'number') return e.loss;
    } catch {
      // a cut line
    }
  }
  return null;
}
