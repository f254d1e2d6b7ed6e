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
import { checkReplicasAgree, isWriter, rankZeroAlone, SINGLE_PROCESS, type Parallel } from '../train/distributed.js';
import { train } from '../train/loop.js';
import type { MetricsLog } from '../train/metricsLog.js';
import type { Objective } from '../train/objective.js';
import { Chain } from './chain.js';
import type { Best } from './chainState.js';
import { agreeOnEarlyStop, checkEarlyStopping, shouldStopEarly, trainedLinks, type EarlyStop } from './earlyStop.js';
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
  /** interrupted (shouldStop): the run can resume; false for a finished run, early stop included */
  stopped: boolean;
  finalLoss: number;
  best: Best | null;
  /** test metrics of the best dev step (of the last step without dev); null without test */
  test: Best | null;
  /** set when early stopping ended the run (links then holds only the links that trained) */
  earlyStop: EarlyStop | null;
}

export function runChain(cfg: RunConfig, io: RunInputs): RunSummary {
  const order = new DataOrder(io.objective.lengths(), cfg.budget.batchSize, cfg.seed);
  const plan = planRun(cfg, order.perEpoch);
  checkEarlyStopping(cfg, plan, io.dev !== undefined);
  fs.mkdirSync(cfg.outDir, { recursive: true });
  const chain = new Chain(io.model, cfg, plan.links);
  if (cfg.resume) resume(chain, cfg, io.log);
  else io.log.reset();
  // wall time of the whole run: a resume goes on from the last logged step's
  const since = Date.now() - 1000 * (cfg.resume ? (lastLogged(io.log, 'step', 'elapsed_s') ?? 0) : 0);
  const elapsed = (): number => (Date.now() - since) / 1000;
  // only rank 0 of a data-parallel run writes (issue 19)
  const writer = isWriter(io.parallel ?? SINGLE_PROCESS);
  const save = (): void =>
    rankZeroAlone(io.parallel ?? SINGLE_PROCESS, `rank 0's checkpoint at step ${chain.step}`, () => {
      saveCheckpoint(cfg.outDir, chain.snapshot(io.log.bytes()));
      io.log.flush();
    });
  let lastLoss = NaN;
  for (const link of plan.links) {
    if (chain.earlyStop) break; // stopped early (or resumed after): the links left never train
    if (chain.step >= link.end) continue;
    lastLoss = trainLink(chain, link, { cfg, io, plan, order, elapsed }) ?? lastLoss;
    if (chain.earlyStop) {
      save();
      break;
    }
    if (chain.step < link.end) {
      save();
      return { steps: chain.step, links: plan.links, stopped: true, finalLoss: lastLoss, best: chain.best, test: null, earlyStop: null };
    }
    const next = plan.links[link.index + 1];
    if (next) tieKnot(chain, link, next, io, order);
    save();
  }
  const links = chain.earlyStop ? trainedLinks(plan.links, chain.earlyStop.step) : plan.links;
  if (writer) exportChain({ cfg, chain, links, baseModel: io.baseModel, outDir: cfg.outDir });
  const test = writer ? finalTest(chain, io) : null;
  const stop = chain.earlyStop
    ? { early_stop: { step: chain.earlyStop.step, best_step: chain.earlyStop.bestStep, patience: chain.earlyStop.patience } }
    : {};
  io.log.write({
    event: 'done',
    step: chain.step,
    final_loss: Number.isNaN(lastLoss) ? lastLogged(io.log, 'step', 'loss') : lastLoss,
    best: chain.best,
    ...(test ? { test: test.metrics, test_step: test.step } : {}),
    ...stop,
    elapsed_s: elapsed(),
  });
  io.log.flush();
  return { steps: chain.step, links, stopped: false, finalLoss: lastLoss, best: chain.best, test, earlyStop: chain.earlyStop };
}

interface LinkContext {
  cfg: RunConfig;
  io: RunInputs;
  plan: RunPlan;
  order: DataOrder;
  /** seconds since the run started (across resumes) */
  elapsed: () => number;
}

/** One link's steps; returns the last step's loss (undefined when no step ran). */
function trainLink(chain: Chain, link: Link, { cfg, io, plan, order, elapsed }: LinkContext): number | undefined {
  const schedule = { kind: cfg.optim.schedule, peak: cfg.optim.lr, warmup: cfg.optim.warmupSteps, total: plan.totalSteps };
  const evalAt = new Set(plan.evalSteps);
  let loss: number | undefined;
  const parallel = io.parallel ?? SINGLE_PROCESS;
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
        elapsed_s: elapsed(),
      });
      if (io.dev && evalAt.has(r.step)) {
        rankZeroAlone(parallel, `rank 0's dev evaluation at step ${r.step}`, () => {
          evaluate(chain, link, cfg, io);
          if (shouldStopEarly(cfg, chain.sinceBest, r.step, plan.totalSteps)) stopEarly(chain, link, cfg, io);
        });
        // data parallel: rank 0 evaluated; every rank takes its decision (earlyStop.ts)
        if (parallel.comm && cfg.eval.earlyStoppingPatience !== undefined) {
          const agreed = agreeOnEarlyStop(parallel.comm, { stop: chain.earlyStop, sinceBest: chain.sinceBest });
          chain.earlyStop = agreed.stop;
          chain.sinceBest = agreed.sinceBest;
        }
      }
      if (cfg.saveEvery > 0 && r.step % cfg.saveEvery === 0 && r.step !== link.end)
        rankZeroAlone(parallel, `rank 0's checkpoint at step ${r.step}`, () => saveCheckpoint(cfg.outDir, chain.snapshot(io.log.bytes())));
    },
    shouldStop: () => chain.earlyStop !== null || io.shouldStop(),
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
    ...(cfg.eval.earlyStoppingPatience === undefined ? {} : { evals_since_best: chain.sinceBest }),
  });
  if (improved && cfg.method !== 'full')
    exportChain({ cfg, chain, links: [], baseModel: io.baseModel, outDir: path.join(cfg.outDir, 'best'), adapterOnly: true });
}

/** Patience ran out: record the stop (the train loop ends at this step, earlyStop.ts). */
function stopEarly(chain: Chain, link: Link, cfg: RunConfig, io: RunInputs): void {
  const patience = cfg.eval.earlyStoppingPatience!;
  chain.earlyStop = { step: chain.step, bestStep: chain.best!.step, patience };
  io.log.write({ event: 'early_stop', step: chain.step, link: link.index, patience, best_step: chain.best!.step });
}

/** merge -> fresh adapters -> new optimizer, with the loss on the first batch before and
 * after (a knot must not change the model's function: the two agree). */
function tieKnot(chain: Chain, link: Link, next: Link, io: RunInputs, order: DataOrder): void {
  const comm = (io.parallel ?? SINGLE_PROCESS).comm;
  const writer = isWriter(io.parallel ?? SINGLE_PROCESS);
  const probe = (): number => (writer ? noGrad(() => io.objective.loss(chain.model, order.batch(0)).loss.item()) : NaN);
  const before = probe();
  const { deltaNorm, requantError } = chain.knot(link, next);
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
    ...(requantError === null ? {} : { requant_error: requantError }),
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

/** Test metrics for the done record (issue 16: `cola train` prints and records them):
 * those logged beside the best dev evaluation, or, for a run without dev, the final
 * model's. Test never selects anything. */
function finalTest(chain: Chain, io: RunInputs): Best | null {
  if (!io.test) return null;
  if (!io.dev) return { step: chain.step, metrics: noGrad(io.test) };
  if (!chain.best) return null;
  const e = lastEvent(io.log, (x) => x['event'] === 'eval' && x['step'] === chain.best!.step);
  const metrics = Object.fromEntries(
    Object.entries(e ?? {}).flatMap(([k, v]) => (k.startsWith('test_') && typeof v === 'number' ? [[k.slice(5), v]] : [])),
  );
  return Object.keys(metrics).length ? { step: chain.best.step, metrics } : null;
}

/** A numeric field of the last `event` record (a run resumed at its last step trains no
 * step: its final loss is the last logged one). */
function lastLogged(log: MetricsLog, event: string, key: string): number | null {
  const e = lastEvent(log, (x) => x['event'] === event && typeof x[key] === 'number');
  return e ? (e[key] as number) : null;
}

function lastEvent(log: MetricsLog, match: (e: Record<string, unknown>) => boolean): Record<string, unknown> | null {
  if (!fs.existsSync(log.file)) return null;
  const lines = fs.readFileSync(log.file, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (match(e)) return e;
    } catch {
      // a cut line
    }
  }
  return null;
}
