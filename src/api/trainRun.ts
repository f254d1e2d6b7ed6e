/** One fine-tuning run into its folder: the data, config.json, metrics.jsonl, the chain
 * (runChain) and report.html. `cola train`, fineTune() and every `cola experiment` cell
 * call it with a RunConfig (cola/runConfig.ts), so they train through one code path. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runChain, type RunSummary } from '../cola/run.js';
import type { RunConfig } from '../cola/runConfig.js';
import { checkEarlyStopping, trainedLinks } from '../cola/earlyStop.js';
import { planRun, type RunPlan } from '../cola/plan.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { withChatTemplate } from '../data/chatTemplates.js';
import { ColaError } from '../errors.js';
import { writeJsonAtomic } from '../io/fileIo.js';
import { openRunFolder, type RunFolder } from '../io/runFolder.js';
import type { CausalLM } from '../models/causalLM.js';
import { writeRunReport } from '../report/runReport.js';
import { hasCheckpoint } from '../train/checkpoint.js';
import { METRICS_CSV, MetricsLog, type RunEvent } from '../train/metricsLog.js';
import { EVENT_FILE } from '../report/tensorboard.js';
import { prepareData, type PreparedData } from '../train/prepare.js';
import { checkResume, type ResumeCheck } from './resumeCheck.js';
import { runRecord, type RunRecord } from './runRecord.js';
import { isWriter, SINGLE_PROCESS, type Parallel } from '../train/distributed.js';

export interface FineTuneResult extends RunSummary {
  outDir: string;
  /** the whole chain as ONE PEFT LoRA (null for method 'full', which writes model/, and for a stopped run) */
  adapterDir: string | null;
  counts: { train: number; dev: number; test: number };
  /** a --resume of a finished run: nothing was trained and no file was written */
  alreadyDone?: boolean;
  /** what that --resume allowed to change (resumeCheck.ts) */
  notes?: string[];
}

/** What is known once the data is read, before the first step. */
export interface RunStart {
  /** as written to config.json */
  config: RunRecord;
  plan: RunPlan;
  totalSteps: number;
  links: number;
  /** what a --resume allowed to change, one line each (resumeCheck.ts) */
  notes: string[];
}

export interface TrainRunInputs {
  model: CausalLM;
  tokenizer: TextTokenizer;
  /** base_model_name_or_path in adapter_config.json, and `model` in config.json */
  baseModel: string;
  /** data already prepared (an experiment shares it across cells); default: from cfg.data */
  data?: PreparedData;
  onStart?: (s: RunStart) => void;
  onEvent?: (e: RunEvent) => void;
  shouldStop?: () => boolean;
  /** write report.html at the end (default true) */
  report?: boolean;
  /** Data-parallel ranks of an `mpirun` job (train/distributed.ts; default one process):
   * `--batch-size` stays the global batch, rank 0 alone writes the run folder. */
  parallel?: Parallel;
}

/** The run's data as trainRun reads it (cfg.data, the chat template, the model's context). */
export function prepareRunData(cfg: RunConfig, model: CausalLM, tokenizer: TextTokenizer): PreparedData {
  const tok = withChatTemplate(tokenizer, cfg.data.chatTemplate);
  return prepareData(cfg.data, tok, { contextLength: model.dims.maxPositions, modelType: model.dims.modelType });
}

export function trainRun(cfg: RunConfig, o: TrainRunInputs): FineTuneResult {
  // --quantize-calibration is recorded in config.json: the base must be the one it made
  if (cfg.quantizeCalibration !== o.model.quantizeCalibration)
    throw new ColaError(
      cfg.quantizeCalibration === undefined
        ? `the base's codes were calibrated on ${o.model.quantizeCalibration} examples but the run config has no quantizeCalibration: set it, or load the base with round-to-nearest codes`
        : `the run config asks for a base calibrated on ${cfg.quantizeCalibration} training examples (quantizeCalibration), but the base's codes are ${o.model.quantizeCalibration === undefined ? 'not calibrated' : `calibrated on ${o.model.quantizeCalibration}`}: quantize it with quantizeCalibrated() (api/calibratedBase.ts) on the run's data first`,
    );
  const data = o.data ?? prepareRunData(cfg, o.model, o.tokenizer);
  if (data.counts.train === 0) throw new ColaError(`${cfg.data.data ?? cfg.data.task}: no training examples; nothing to train on`);
  // checked before any file is written
  if (cfg.method === 'full' && o.model.weightDtype !== 'f32')
    throw new ColaError('method full trains every weight in f32: load the model in f32 (cola train: --dtype f32)');
  // a sequence of one token predicts nothing: every loss would be 0 (an empty chat render)
  if (data.kind === 'lm' && data.train.lengths().every((n) => n < 2))
    throw new ColaError(
      `${cfg.data.data ?? cfg.data.task}: the training examples have no token to predict (a chat template or prompt format that renders nothing?); nothing to train on`,
    );
  if (cfg.gradientCheckpointing) o.model.enableGradientCheckpointing();
  checkEarlyStopping(cfg, planRun(cfg, Math.ceil(data.counts.train / cfg.budget.batchSize)), data.hasSplit('dev'));
  if (cfg.resume && !hasCheckpoint(cfg.outDir)) throw new ColaError(`${cfg.outDir}: --resume given but the run folder has no checkpoint`);
  const parallel = o.parallel ?? SINGLE_PROCESS;
  // the base model's identity, before adapters wrap it (and, data parallel, the ranks)
  const base = runRecord(cfg, { model: o.model, baseModel: o.baseModel, counts: data.counts, truncated: data.truncated });
  const record: RunRecord = parallel.size > 1 ? { ...base, ranks: parallel.size } : base;
  // micro-batches per epoch of the training objective (with --pack: of packed sequences)
  const plan = planRun(cfg, Math.ceil(data.train.size / cfg.budget.batchSize));
  // The other ranks write nothing: they wait for rank 0 to have opened and checked the
  // folder (a failure there ends rank 0, and mpirun ends the job), then train beside it.
  if (!isWriter(parallel)) {
    parallel.comm?.barrier('start (rank 0 opens the run folder)');
    const check = cfg.resume ? checkResume(cfg.outDir, record, plan) : null; // reads only
    if (check?.finished) return alreadyDone(cfg, check, plan, data);
    return run(cfg, o, data, { record, plan, notes: [], parallel });
  }
  // Locked, link-free and cleaned from here on; config.json only once the run can start.
  const folder = openRunFolder(cfg.outDir, cfg.resume);
  try {
    // checked under the lock, before any write: a refused resume leaves the run as it was
    const check = cfg.resume ? checkResume(cfg.outDir, record, plan) : null;
    parallel.comm?.barrier('start (rank 0 opens the run folder)');
    if (check?.finished) return alreadyDone(cfg, check, plan, data);
    return run(cfg, o, data, { record, plan, notes: check?.notes ?? [], parallel });
  } catch (e) {
    if (!cfg.resume && !hasCheckpoint(cfg.outDir)) removeFailedStart(folder);
    throw e;
  } finally {
    folder.release();
  }
}

/** A --resume of a finished run is a no-op (issue 16: it rewrote the done record with
 * final_loss null): the summary comes from the done record, and no file of the run is
 * touched (the folder was still opened: locked, checked for links, cleaned of dead
 * processes' temp files). */
function alreadyDone(cfg: RunConfig, check: ResumeCheck, plan: RunPlan, data: PreparedData): FineTuneResult {
  const done = check.done!;
  const finalLoss = typeof done['final_loss'] === 'number' ? done['final_loss'] : NaN;
  const adapterDir = cfg.method === 'full' ? null : path.join(cfg.outDir, 'adapter');
  const best = (done['best'] as FineTuneResult['best'] | undefined) ?? null;
  const testMetrics = done['test'] as Record<string, number> | undefined;
  const test = testMetrics && typeof done['test_step'] === 'number' ? { step: done['test_step'], metrics: testMetrics } : null;
  const stop = done['early_stop'] as { step: number; best_step: number; patience: number } | undefined;
  const earlyStop = stop ? { step: stop.step, bestStep: stop.best_step, patience: stop.patience } : null;
  return {
    steps: earlyStop ? earlyStop.step : plan.totalSteps,
    links: earlyStop ? trainedLinks(plan.links, earlyStop.step) : plan.links,
    earlyStop,
    stopped: false,
    finalLoss,
    best,
    test,
    outDir: cfg.outDir,
    adapterDir,
    counts: data.counts,
    alreadyDone: true,
    notes: check.notes,
  };
}

function run(
  cfg: RunConfig,
  o: TrainRunInputs,
  data: PreparedData,
  s: { record: RunRecord; plan: RunPlan; notes: string[]; parallel: Parallel },
): FineTuneResult {
  const { record: config, plan, parallel } = s;
  const writer = isWriter(parallel);
  if (writer) writeJsonAtomic(path.join(cfg.outDir, 'config.json'), config);
  o.onStart?.({ config, plan, totalSteps: plan.totalSteps, links: plan.links.length, notes: s.notes });
  const summary = runChain(cfg, {
    model: o.model,
    objective: data.train,
    dev: data.hasSplit('dev') ? () => data.evaluate(o.model, 'dev') : undefined,
    test: data.hasSplit('test') ? () => data.evaluate(o.model, 'test') : undefined,
    metric: { name: data.kind === 'lm' ? 'perplexity' : 'accuracy', higherIsBetter: data.higherIsBetter },
    log: new MetricsLog(cfg.outDir, o.onEvent ? [o.onEvent] : [], { tensorboard: cfg.reportTo === 'tensorboard', silent: !writer }),
    shouldStop: o.shouldStop ?? (() => false),
    baseModel: o.baseModel,
    parallel,
  });
  if (writer && (o.report ?? true)) writeRunReport(cfg.outDir);
  const adapterDir = cfg.method === 'full' || summary.stopped ? null : path.join(cfg.outDir, 'adapter');
  return { ...summary, outDir: cfg.outDir, adapterDir, counts: data.counts };
}

/** What a fresh run writes before its first checkpoint; removed when it fails before one,
 * so a failed start leaves the folder as it found it. */
const RUN_OUTPUTS = [
  'config.json',
  'metrics.jsonl',
  METRICS_CSV,
  EVENT_FILE,
  'report.html',
  'chain.json',
  'adapter',
  'best',
  'links',
  'model',
  'checkpoint.tmp',
];

function removeFailedStart(folder: RunFolder): void {
  for (const name of RUN_OUTPUTS) fs.rmSync(path.join(folder.dir, name), { recursive: true, force: true });
  folder.release();
  if (folder.created && fs.readdirSync(folder.dir).length === 0) fs.rmdirSync(folder.dir);
}
