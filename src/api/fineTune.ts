/** fineTune(): `cola train` as one function call. The defaults are the CLI's own (read
 * from its option specs), the data goes through the same prepareData, and the run
 * through the same runChain, so a library run and a CLI run with the same settings
 * write the same run folder (adapter/, chain.json, metrics.jsonl, report.html). */
import * as path from 'node:path';
import { dataOptions, runConfigFrom, trainOptions } from '../cli/commands/train.js';
import type { OptionValues } from '../cli/options.js';
import { ensureRunDir, runChain, type Method, type RunConfig, type RunSummary } from '../cola/run.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import { writeJsonAtomic } from '../io/fileIo.js';
import { validateLoraConfig, type LoraConfig } from '../lora/config.js';
import type { CausalLM } from '../models/causalLM.js';
import { writeRunReport } from '../report/runReport.js';
import { MetricsLog, type RunEvent } from '../train/metricsLog.js';
import { prepareData, type DataSpec } from '../train/prepare.js';

/** Training data, as `cola train`'s data flags: `data` (+ `devData`) files, or a `task` of
 * the paper with its `dataDir`. */
export type FineTuneData = Omit<DataSpec, 'seed' | 'maxLength'> & {
  /** seed of the task sampling (default: `seed`) */
  dataSeed?: number;
  /** tokens per sequence (default 256, never more than the model's context) */
  maxLength?: number;
};

export type FineTuneOptions = FineTuneData &
  Partial<Omit<RunConfig, 'lora' | 'outDir' | 'method'>> & {
    model: CausalLM;
    tokenizer: TextTokenizer;
    /** the run folder (`cola train --out`) */
    outDir: string;
    /** default 'cola' */
    method?: Method;
    /** LoRA settings over the paper's (r 8, alpha 16 on q_proj, v_proj) */
    lora?: Partial<LoraConfig>;
    /** every metrics.jsonl event (step, eval, knot, done) as it is written */
    onEvent?: (e: RunEvent) => void;
    /** polled after each step; true stops the run with a checkpoint (resume: true continues it) */
    shouldStop?: () => boolean;
    /** base_model_name_or_path in adapter_config.json (default: "unknown") */
    baseModel?: string;
    /** write report.html at the end (default true) */
    report?: boolean;
  };

export interface FineTuneResult extends RunSummary {
  outDir: string;
  /** the whole chain as ONE PEFT LoRA (null for method 'full', which writes model/) */
  adapterDir: string | null;
  counts: { train: number; dev: number; test: number };
}

const OWN_KEYS = ['model', 'tokenizer', 'outDir', 'method', 'lora', 'onEvent', 'shouldStop', 'baseModel', 'report'];
const DATA_KEYS = ['data', 'devData', 'task', 'dataDir', 'source', 'dataSeed', 'numTrain', 'numDev', 'numTest', 'maxLength', 'skipBad'];

/** Fine-tune `model` in place (its targeted layers end up wrapped in the last link's
 * LoRA, earlier links merged into the weights) and write the run folder. */
export function fineTune(o: FineTuneOptions): FineTuneResult {
  const cfg = runConfig(o);
  const data = prepareData(
    {
      data: o.data,
      devData: o.devData,
      task: o.task,
      dataDir: o.dataDir,
      source: o.source,
      seed: o.dataSeed ?? cfg.seed,
      numTrain: o.numTrain,
      numDev: o.numDev,
      numTest: o.numTest,
      maxLength: Math.min(o.maxLength ?? (trainDefaults()['max-length'] as number), o.model.dims.maxPositions),
      skipBad: o.skipBad,
    },
    o.tokenizer,
  );
  if (cfg.method === 'full') {
    if (o.model.weightDtype !== 'f32') throw new ColaError("method 'full' trains every weight in f32: load the model with dtype 'f32'");
    o.model.requiresGrad(true);
  }
  ensureRunDir(cfg.outDir, cfg.resume);
  const baseModel = o.baseModel ?? 'unknown';
  writeJsonAtomic(path.join(cfg.outDir, 'config.json'), { ...cfg, base_model: baseModel, dtype: o.model.weightDtype, counts: data.counts });
  const summary = runChain(cfg, {
    model: o.model,
    objective: data.train,
    dev: data.hasSplit('dev') ? () => data.evaluate(o.model, 'dev') : undefined,
    devHigherIsBetter: data.higherIsBetter,
    log: new MetricsLog(cfg.outDir, o.onEvent ? [o.onEvent] : []),
    shouldStop: o.shouldStop ?? (() => false),
    baseModel,
  });
  if (o.report ?? true) writeRunReport(cfg.outDir);
  const adapterDir = cfg.method === 'full' || summary.stopped ? null : path.join(cfg.outDir, 'adapter');
  return { ...summary, outDir: cfg.outDir, adapterDir, counts: data.counts };
}

/** `cola train`'s defaults for `method`, overridden by the options given. */
export function runConfig(o: FineTuneOptions): RunConfig {
  const allowed = new Set([...OWN_KEYS, ...DATA_KEYS, ...Object.keys(runConfigFrom({ ...trainDefaults(), out: '.' }))]);
  const unknown = Object.keys(o).filter((k) => !allowed.has(k));
  if (unknown.length) throw new ColaError(`fineTune: unknown option(s) ${unknown.join(', ')}; see FineTuneOptions in docs/API.md`);
  const method = o.method ?? (trainDefaults()['method'] as Method);
  const base = runConfigFrom({ ...trainDefaults(), method, out: o.outDir });
  const given = Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k in base && k !== 'lora'));
  // A regex selects alone (as --target-regex overrides --targets): drop the default suffixes.
  const regexOnly = o.lora?.targetRegex !== undefined && o.lora.targets === undefined ? { targets: [] } : {};
  return {
    ...base,
    ...given,
    method,
    outDir: o.outDir,
    lora: validateLoraConfig({ ...base.lora, ...regexOnly, ...o.lora }, 'fineTune lora'),
  };
}

/** The defaults of `cola train`'s training and data flags, by flag name. */
function trainDefaults(): OptionValues {
  return Object.fromEntries(
    Object.entries({ ...dataOptions, ...trainOptions }).flatMap(([k, s]) => (s.default === undefined ? [] : [[k, s.default]])),
  );
}
