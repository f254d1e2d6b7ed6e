/** One fine-tuning run into its folder: the data, config.json, metrics.jsonl, the chain
 * (runChain) and report.html. `cola train`, fineTune() and every `cola experiment` cell
 * call it with a RunConfig (cola/runConfig.ts), so they train through one code path. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runChain, type RunSummary } from '../cola/run.js';
import type { RunConfig } from '../cola/runConfig.js';
import { planRun } from '../cola/plan.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { withChatTemplate } from '../data/chatTemplates.js';
import { ColaError } from '../errors.js';
import { writeJsonAtomic } from '../io/fileIo.js';
import { openRunFolder, type RunFolder } from '../io/runFolder.js';
import type { CausalLM } from '../models/causalLM.js';
import { writeRunReport } from '../report/runReport.js';
import { hasCheckpoint } from '../train/checkpoint.js';
import { MetricsLog, type RunEvent } from '../train/metricsLog.js';
import { prepareData, type PreparedData } from '../train/prepare.js';
import { isWriter, SINGLE_PROCESS, type Parallel } from '../train/distributed.js';

export interface FineTuneResult extends RunSummary {
  outDir: string;
  /** the whole chain as ONE PEFT LoRA (null for method 'full', which writes model/, and for a stopped run) */
  adapterDir: string | null;
  counts: { train: number; dev: number; test: number };
}

/** What is known once the data is read, before the first step. */
export interface RunStart {
  /** as written to config.json */
  config: Record<string, unknown>;
  totalSteps: number;
  links: number;
}

export interface TrainRunInputs {
  model: CausalLM;
  tokenizer: TextTokenizer;
  /** base_model_name_or_path in adapter_config.json */
  baseModel: string;
  /** recorded in config.json beside the run config (model folder, backend, ...) */
  meta?: Record<string, unknown>;
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

export function trainRun(cfg: RunConfig, o: TrainRunInputs): FineTuneResult {
  const tokenizer = withChatTemplate(o.tokenizer, cfg.data.chatTemplate);
  const data = o.data ?? prepareData(cfg.data, tokenizer, { contextLength: o.model.dims.maxPositions, modelType: o.model.dims.modelType });
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
  if (cfg.resume && !hasCheckpoint(cfg.outDir)) throw new ColaError(`${cfg.outDir}: --resume given but the run folder has no checkpoint`);
  const parallel = o.parallel ?? SINGLE_PROCESS;
  // The other ranks write nothing: they wait for rank 0 to have opened the folder (a
  // failure there ends rank 0, and mpirun ends the job), then train beside it.
  if (!isWriter(parallel)) {
    parallel.comm?.barrier();
    return run(cfg, o, data, parallel);
  }
  // Locked, link-free and cleaned from here on; config.json only once the run can start.
  const folder = openRunFolder(cfg.outDir, cfg.resume);
  try {
    writeJsonAtomic(path.join(cfg.outDir, 'config.json'), runConfigJson(cfg, o, data, parallel));
    parallel.comm?.barrier();
    return run(cfg, o, data, parallel);
  } catch (e) {
    if (!cfg.resume && !hasCheckpoint(cfg.outDir)) removeFailedStart(folder);
    throw e;
  } finally {
    folder.release();
  }
}

/** config.json: the effective config, the data counts and (data parallel) the ranks. */
function runConfigJson(cfg: RunConfig, o: TrainRunInputs, data: PreparedData, parallel: Parallel): Record<string, unknown> {
  const ranks = parallel.size > 1 ? { ranks: parallel.size } : {};
  return { ...o.meta, run: cfg, dtype: o.model.weightDtype, counts: data.counts, truncated: data.truncated, ...ranks };
}

function run(cfg: RunConfig, o: TrainRunInputs, data: PreparedData, parallel: Parallel): FineTuneResult {
  const writer = isWriter(parallel);
  const config = runConfigJson(cfg, o, data, parallel);
  const plan = planRun(cfg, Math.ceil(data.counts.train / cfg.budget.batchSize));
  o.onStart?.({ config, totalSteps: plan.totalSteps, links: plan.links.length });
  const summary = runChain(cfg, {
    model: o.model,
    objective: data.train,
    dev: data.hasSplit('dev') ? () => data.evaluate(o.model, 'dev') : undefined,
    test: data.hasSplit('test') ? () => data.evaluate(o.model, 'test') : undefined,
    metric: { name: data.kind === 'lm' ? 'perplexity' : 'accuracy', higherIsBetter: data.higherIsBetter },
    log: new MetricsLog(cfg.outDir, o.onEvent ? [o.onEvent] : [], !writer),
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
const RUN_OUTPUTS = ['config.json', 'metrics.jsonl', 'report.html', 'chain.json', 'adapter', 'best', 'links', 'model', 'checkpoint.tmp'];

function removeFailedStart(folder: RunFolder): void {
  for (const name of RUN_OUTPUTS) fs.rmSync(path.join(folder.dir, name), { recursive: true, force: true });
  folder.release();
  if (folder.created && fs.readdirSync(folder.dir).length === 0) fs.rmdirSync(folder.dir);
}
