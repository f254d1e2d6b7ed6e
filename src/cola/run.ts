import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { applyLora, loraLayers } from '../lora/inject.js';
import { loraScale, type LoraConfig } from '../lora/config.js';
import type { LoraLinear } from '../lora/loraLinear.js';
import type { CausalLM } from '../models/causalLM.js';
import { AdamW } from '../optim/adamw.js';
import { carryMoments, installMoments, parseMomentReset } from '../optim/momentReset.js';
import { chainLr, type ChainScheduleMode, type ScheduleKind } from '../optim/schedule.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { DataOrder } from '../train/dataOrder.js';
import { train } from '../train/loop.js';
import type { MetricsLog } from '../train/metricsLog.js';
import type { Objective } from '../train/objective.js';
import type { Metrics } from '../eval/evaluate.js';
import { ChainHistory } from './history.js';
import { replayKnots, tieKnot } from './knot.js';
import { planChain, type Link } from './plan.js';
import { exportChain } from './export.js';
import { markWritten } from '../tensor/version.js';

export type Method = 'lora' | 'cola' | 'full' | 'relora';

export interface RunConfig {
  method: Method;
  /** recompute each block's activations in backward (OPT; needs LoRA dropout 0) */
  gradientCheckpointing?: boolean;
  outDir: string;
  seed: number;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  chainLength: number;
  knots?: string[];
  knotEvery?: number;
  linkRanks?: number[];
  linkLrs?: number[];
  chainSchedule: ChainScheduleMode;
  rewarmupSteps: number;
  /** 'full' (paper), 'none', 'magnitude:p' or 'random:p' (ReLoRA) */
  optimizerReset: string;
  lora: LoraConfig;
  evalEvery: number;
  saveEvery: number;
  saveLinkAdapters: boolean;
  resume: boolean;
}

export interface RunInputs {
  model: CausalLM;
  objective: Objective;
  /** Dev metrics; the first key is the one selecting the best checkpoint. */
  dev?: () => Metrics;
  /** Whether a larger selection metric is better (accuracy) or smaller (loss). */
  devHigherIsBetter?: boolean;
  log: MetricsLog;
  shouldStop: () => boolean;
  /** Written into adapter_config.json's base_model_name_or_path. */
  baseModel: string;
}

export interface RunSummary {
  steps: number;
  links: Link[];
  stopped: boolean;
  finalLoss: number;
  best: { step: number; metrics: Metrics } | null;
}

/** Train with LoRA, COLA (a chain of LoRAs with knots), ReLoRA or full fine-tuning.
 * LoRA is the chain of length 1; a knot is merge -> fresh adapter -> new optimizer. */
export function runChain(cfg: RunConfig, io: RunInputs): RunSummary {
  const { model, objective, log } = io;
  fs.mkdirSync(cfg.outDir, { recursive: true });
  const order = new DataOrder(objective.lengths(), cfg.batchSize, cfg.seed);
  const stepsPerEpoch = Math.max(1, Math.ceil(order.perEpoch / cfg.gradAccum));
  const totalSteps = cfg.maxSteps ?? cfg.epochs * stepsPerEpoch;
  const full = cfg.method === 'full';
  const momentReset = parseMomentReset(cfg.optimizerReset, 'optimizerReset');
  const links = planChain({
    totalSteps,
    stepsPerEpoch,
    chainLength: cfg.method === 'lora' || full ? 1 : cfg.chainLength,
    knots: cfg.method === 'cola' ? cfg.knots : undefined,
    knotEvery: cfg.method === 'relora' ? cfg.knotEvery : undefined,
    rank: cfg.lora.r,
    linkRanks: cfg.linkRanks,
    lr: cfg.lr,
    linkLrs: cfg.linkLrs,
  });
  if (full) {
    if (model.weightDtype !== 'f32') throw new ColaError('full fine-tuning trains every weight in f32: load the model with dtype f32');
    model.requiresGrad(true);
  }
  const layers = full ? [] : injectAdapters(model, cfg, links[0]!.rank);
  const history = new ChainHistory();
  const ckpt = cfg.resume ? loadCheckpoint(cfg.outDir) : null;
  if (cfg.resume && !ckpt) throw new ColaError(`${cfg.outDir}: --resume given but the run folder has no checkpoint`);
  let step = 0;
  let best: RunSummary['best'] = null;
  let carried: Checkpoint | null = null;
  if (ckpt) {
    ({ step, best } = restore(ckpt, model, layers, history, links, cfg));
    log.truncate(ckpt.state['metricsBytes'] as number);
    carried = ckpt;
  } else {
    log.reset();
  }
  const probe = (): number => noGrad(() => objective.loss(model, order.batch(0)).loss.item());
  let stopped = false;
  let lastLoss = NaN;
  let prepared: AdamW | null = null; // the next link's optimizer, made at the knot
  for (const link of links) {
    if (step >= link.end) continue;
    const params = trainableParams(model, full, layers);
    const optimizer = prepared ?? new AdamW(params, { lr: link.lr, weightDecay: cfg.weightDecay });
    if (carried) loadMoments(optimizer, carried);
    carried = null;
    prepared = null;
    const save = (): void => saveCheckpoint(cfg.outDir, snapshot(model, layers, history, optimizer, step, best, log, full));
    const base = { kind: cfg.schedule, peak: cfg.lr, warmup: cfg.warmupSteps, total: totalSteps };
    for (const l of layers) l[1].setTraining(true);
    step = train({
      model,
      params,
      optimizer,
      objective,
      order,
      from: step,
      to: link.end,
      accum: cfg.gradAccum,
      maxGradNorm: cfg.maxGradNorm,
      lrAt: (s) => chainLr(cfg.chainSchedule, base, link, s, cfg.rewarmupSteps),
      beforeMicroStep: (micro) => layers.forEach(([, l]) => l.setDropoutSeed(cfg.seed, micro)),
      onStep: (r) => {
        step = r.step;
        lastLoss = r.loss;
        log.write({
          event: 'step',
          step: r.step,
          link: link.index,
          epoch: r.step / stepsPerEpoch,
          loss: r.loss,
          lr: r.lr,
          grad_norm: r.gradNorm,
          tokens: r.tokens,
          tokens_per_s: (r.tokens * 1000) / r.ms,
          ms: r.ms,
        });
        const endOfLink = r.step === link.end;
        if (io.dev && ((cfg.evalEvery > 0 && r.step % cfg.evalEvery === 0) || endOfLink))
          best = evaluate(io, cfg, model, history, layers, r.step, link, best);
        if (cfg.saveEvery > 0 && r.step % cfg.saveEvery === 0 && !endOfLink) save();
      },
      shouldStop: io.shouldStop,
    });
    for (const l of layers) l[1].setTraining(false);
    if (step < link.end) {
      stopped = true;
      save();
      break;
    }
    const next = links[link.index + 1];
    if (next) {
      const before = probe();
      // a new rank: the old moments do not fit the new factors
      const moments = link.rank === next.rank ? carryMoments(optimizer, momentReset, cfg.seed + link.index) : null;
      const deltaNorm = tieKnot(
        layers.map(([p, l]) => [p, l] as [string, LoraLinear]),
        history,
        next.rank,
        linkSeed(cfg.seed, next.index),
      );
      const after = probe();
      log.write({
        event: 'knot',
        step,
        link: link.index,
        next_link: next.index,
        rank: link.rank,
        next_rank: next.rank,
        delta_norm: deltaNorm,
        loss_before: before,
        loss_after: after,
      });
      // A new optimizer for the new factors (paper: full reset); ReLoRA modes carry pruned moments.
      prepared = new AdamW(trainableParams(model, full, layers), { lr: next.lr, weightDecay: cfg.weightDecay });
      if (moments) installMoments(prepared, moments);
      saveCheckpoint(cfg.outDir, snapshot(model, layers, history, prepared, step, best, log, full));
    } else save();
  }
  if (!stopped) {
    exportChain(cfg, model, layers, history, links, io.baseModel);
    log.write({ event: 'done', step, final_loss: lastLoss, best });
  }
  return { steps: step, links, stopped, finalLoss: lastLoss, best };
}

function linkSeed(seed: number, link: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + link * 7919) >>> 0;
}

function injectAdapters(model: CausalLM, cfg: RunConfig, rank: number): [string, LoraLinear][] {
  applyLora(model, { ...cfg.lora, r: rank }, linkSeed(cfg.seed, 0));
  return loraLayers(model);
}

function trainableParams(model: CausalLM, full: boolean, layers: [string, LoraLinear][]): Tensor[] {
  if (full) return model.parameters().filter((p) => p.requiresGrad);
  return layers.flatMap(([, l]) => [l.lora_A, l.lora_B, ...(l.base_layer.bias?.requiresGrad ? [l.base_layer.bias] : [])]);
}

function evaluate(
  io: RunInputs,
  cfg: RunConfig,
  model: CausalLM,
  history: ChainHistory,
  layers: [string, LoraLinear][],
  step: number,
  link: Link,
  best: RunSummary['best'],
): RunSummary['best'] {
  for (const l of layers) l[1].setTraining(false);
  const metrics = io.dev!();
  for (const l of layers) l[1].setTraining(true);
  io.log.write({ event: 'eval', step, link: link.index, ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`dev_${k}`, v])) });
  const key = Object.keys(metrics)[0]!;
  const better = !best || (io.devHigherIsBetter ? metrics[key]! > best.metrics[key]! : metrics[key]! < best.metrics[key]!);
  if (!better) return best;
  if (layers.length)
    exportChain({ ...cfg, outDir: path.join(cfg.outDir, 'best'), saveLinkAdapters: false }, model, layers, history, [], io.baseModel, true);
  return { step, metrics };
}

function snapshot(
  model: CausalLM,
  layers: [string, LoraLinear][],
  history: ChainHistory,
  opt: AdamW,
  step: number,
  best: RunSummary['best'],
  log: MetricsLog,
  full: boolean,
): Checkpoint {
  const arrays = new Map<string, Float32Array>();
  history.links.forEach((link, j) => {
    for (const [p, f] of link) {
      arrays.set(`link.${j}.${p}.A`, f.A);
      arrays.set(`link.${j}.${p}.B`, f.B);
    }
  });
  for (const [p, l] of layers) {
    arrays.set(`live.${p}.A`, l.lora_A.f32);
    arrays.set(`live.${p}.B`, l.lora_B.f32);
  }
  if (full) for (const [n, t] of model.namedParameters()) if (t.requiresGrad) arrays.set(`param.${n}`, t.f32);
  opt.m.forEach((x, i) => arrays.set(`optim.m.${i}`, x));
  opt.v.forEach((x, i) => arrays.set(`optim.v.${i}`, x));
  const linkMeta = history.links.map((link) => Object.fromEntries([...link].map(([p, f]) => [p, { r: f.r, alpha: f.alpha }])));
  return { state: { step, optimT: opt.t, best, metricsBytes: log.bytes(), links: linkMeta }, arrays };
}

function restore(
  ckpt: Checkpoint,
  model: CausalLM,
  layers: [string, LoraLinear][],
  history: ChainHistory,
  links: Link[],
  cfg: RunConfig,
): { step: number; best: RunSummary['best'] } {
  const a = (name: string): Float32Array => {
    const x = ckpt.arrays.get(name);
    if (!x) throw new ColaError(`${cfg.outDir}/checkpoint: missing array ${name}; the checkpoint does not belong to this configuration`);
    return x;
  };
  const linkMeta = ckpt.state['links'] as Record<string, { r: number; alpha: number }>[];
  linkMeta.forEach((meta, j) => {
    const link = new Map();
    for (const [p, f] of Object.entries(meta)) {
      link.set(p, {
        A: a(`link.${j}.${p}.A`),
        B: a(`link.${j}.${p}.B`),
        r: f.r,
        alpha: f.alpha,
        scale: loraScale(f.alpha, f.r, cfg.lora.useRslora),
      });
    }
    history.links.push(link);
  });
  replayKnots(layers, history);
  const liveRank = links[history.links.length]?.rank ?? cfg.lora.r;
  for (const [p, l] of layers) {
    l.setAdapter(a(`live.${p}.A`), a(`live.${p}.B`), liveRank);
  }
  for (const [n, t] of model.namedParameters()) {
    if (!t.requiresGrad || !ckpt.arrays.has(`param.${n}`)) continue;
    t.f32.set(a(`param.${n}`));
    markWritten(t);
  }
  return { step: ckpt.state['step'] as number, best: (ckpt.state['best'] as RunSummary['best']) ?? null };
}

function loadMoments(opt: AdamW, ckpt: Checkpoint): void {
  opt.m.forEach((x, i) => x.set(ckpt.arrays.get(`optim.m.${i}`)!));
  opt.v.forEach((x, i) => x.set(ckpt.arrays.get(`optim.v.${i}`)!));
  opt.t = ckpt.state['optimT'] as number;
}

export function ensureRunDir(dir: string, resume: boolean): void {
  if (!resume && fs.existsSync(path.join(dir, 'checkpoint'))) {
    throw new ColaError(`${dir} already holds a run; pass --resume to continue it, or choose another --out`);
  }
  fs.mkdirSync(dir, { recursive: true });
}
