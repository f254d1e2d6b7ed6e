/** One fine-tuning run into its folder: the data, config.json, metrics.jsonl, the chain
 * (runChain) and report.html. fineTune() and `cola train` both call it, so the library
 * and the CLI train through one code path and write the same bytes. */
import * as path from 'node:path';
import { ensureRunDir, runChain, type RunConfig, type RunSummary } from '../cola/run.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import { writeJsonAtomic } from '../io/fileIo.js';
import type { CausalLM } from '../models/causalLM.js';
import { writeRunReport } from '../report/runReport.js';
import { MetricsLog, type RunEvent } from '../train/metricsLog.js';
import { prepareData, type DataSpec } from '../train/prepare.js';

/** Training data, as `cola train`'s data flags: `data` (+ `devData`) files, or a `task` of
 * the paper with its `dataDir`. */
export type FineTuneData = Omit<DataSpec, 'seed' | 'maxLength'> & {
  /** seed of the task sampling (default: the run's seed) */
  dataSeed?: number;
  /** tokens per sequence (default: the model's context, never more) */
  maxLength?: number;
};

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
  data: FineTuneData;
  /** the caller's settings, recorded in config.json with the dtype and the data counts */
  settings: Record<string, unknown>;
  /** base_model_name_or_path in adapter_config.json */
  baseModel: string;
  onStart?: (s: RunStart) => void;
  onEvent?: (e: RunEvent) => void;
  shouldStop?: () => boolean;
  /** write report.html at the end (default true) */
  report?: boolean;
}

export function trainRun(cfg: RunConfig, o: TrainRunInputs): FineTuneResult {
  const data = prepareData(dataSpec(o.data, cfg.seed), o.tokenizer, {
    contextLength: o.model.dims.maxPositions,
    modelType: o.model.dims.modelType,
  });
  // checked before any file is written (runChain checks it too, after creating the folder)
  if (cfg.method === 'full' && o.model.weightDtype !== 'f32')
    throw new ColaError('method full trains every weight in f32: load the model in f32 (cola train: --dtype f32)');
  if (cfg.gradientCheckpointing) enableCheckpointing(o.model, cfg);
  ensureRunDir(cfg.outDir, cfg.resume);
  const config = { ...o.settings, dtype: o.model.weightDtype, counts: data.counts };
  writeJsonAtomic(path.join(cfg.outDir, 'config.json'), config);
  o.onStart?.({ config, ...planSize(cfg, data.counts.train) });
  const summary = runChain(cfg, {
    model: o.model,
    objective: data.train,
    dev: data.hasSplit('dev') ? () => data.evaluate(o.model, 'dev') : undefined,
    devHigherIsBetter: data.higherIsBetter,
    log: new MetricsLog(cfg.outDir, o.onEvent ? [o.onEvent] : []),
    shouldStop: o.shouldStop ?? (() => false),
    baseModel: o.baseModel,
  });
  if (o.report ?? true) writeRunReport(cfg.outDir);
  const adapterDir = cfg.method === 'full' || summary.stopped ? null : path.join(cfg.outDir, 'adapter');
  return { ...summary, outDir: cfg.outDir, adapterDir, counts: data.counts };
}

/** The recomputed forward pass must match the first one, so no random dropout masks. */
function enableCheckpointing(model: CausalLM, cfg: RunConfig): void {
  if (cfg.method !== 'full' && cfg.lora.dropout > 0)
    throw new ColaError(
      `--gradient-checkpointing needs --lora-dropout 0 (got ${cfg.lora.dropout}): the recomputed forward pass would draw other dropout masks`,
    );
  model.enableGradientCheckpointing();
}

function dataSpec(d: FineTuneData, seed: number): DataSpec {
  return {
    data: d.data,
    devData: d.devData,
    task: d.task,
    dataDir: d.dataDir,
    source: d.source,
    seed: d.dataSeed ?? seed,
    numTrain: d.numTrain,
    numDev: d.numDev,
    numTest: d.numTest,
    // undefined: the model's context; longer: capped to it with a warning (prepareData)
    maxLength: d.maxLength,
    skipBad: d.skipBad,
  };
}

/** Steps and links of the run, for progress lines (runChain plans the exact chain). */
function planSize(cfg: RunConfig, trainCount: number): { totalSteps: number; links: number } {
  const totalSteps = cfg.maxSteps ?? cfg.epochs * Math.ceil(Math.ceil(trainCount / cfg.batchSize) / cfg.gradAccum);
  if (cfg.method === 'cola') return { totalSteps, links: (cfg.knots?.length ?? cfg.chainLength - 1) + 1 };
  if (cfg.method === 'relora') return { totalSteps, links: Math.ceil(totalSteps / (cfg.knotEvery ?? totalSteps)) };
  return { totalSteps, links: 1 };
}
