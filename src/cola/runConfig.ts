/** RunConfig: everything a training run needs, typed and validated once. `cola train`,
 * `fineTune` and every `cola experiment` cell build it with `resolveRunConfig` from the
 * flag values of runFlags.ts, then call the same run function (api/trainRun.ts). Every
 * problem is reported at once; a flag the chosen method would ignore is refused
 * (issue 12: no option dropped in silence). */
import { DEFAULT_RANK_TIMEOUT_S } from '../backend/mpi.js';
import { ColaError } from '../errors.js';
import { parseMomentReset } from '../optim/momentReset.js';
import { DEFAULT_LORA_CONFIG, isLoftqInit, validateLoraConfig, type LoraConfig } from '../lora/config.js';
import type { ChainScheduleMode, ScheduleKind } from '../optim/schedule.js';
import type { DataSpec } from '../train/prepare.js';
import { defaultsOf } from '../config/flags.js';
import { chatTemplateProblem } from '../data/chatTemplates.js';
import { DATA_FLAGS, RUN_FLAGS, type DataFlags, type RunFlags } from './runFlags.js';

export type Method = 'lora' | 'cola' | 'full' | 'relora';
export type SelectBy = 'loss' | 'metric';

/** Where the data comes from and how it is sampled and cut: prepareData's DataSpec
 * (seed = the task sampling's, default the run's; maxLength undefined = the model's
 * context, as MeZO), plus the chat template of chat rows (undefined = the tokenizer's). */
export type DataConfig = DataSpec & { skipBad: boolean; chatTemplate?: string };

/** The chain's shape. Which fields count depends on the method: lora and full are a
 * chain of one link; cola spaces `length` links evenly or cuts at `knots`; relora
 * knots every `knotEvery` steps. */
export interface ChainConfig {
  length: number;
  knots?: string[];
  knotEvery?: number;
  /** rank per link (the last repeats); undefined = lora.r for every link */
  linkRanks?: number[];
  /** peak LR per link (the last repeats); undefined = optim.lr */
  linkLrs?: number[];
  schedule: ChainScheduleMode;
  rewarmupSteps: number;
  /** 'full' (paper), 'none', 'magnitude:p' or 'random:p' (ReLoRA) */
  optimizerReset: string;
  /** on a quantized base: re-quantize each knot into the codes (issue 17) instead of
   * keeping the merged links as an exact frozen residual */
  knotIntoBase: boolean;
}

export interface OptimConfig {
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  /** LoRA+: lora_B (and 1-D adapter parameters) at lr * ratio; undefined = off */
  loraplusLrRatio?: number;
}

export interface BudgetConfig {
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradAccum: number;
}

export interface EvalConfig {
  /** evaluate every N steps; 0 = at the end of every epoch (MeZO's evaluation_strategy epoch) */
  every: number;
  /** also evaluate at knots (extra selection points only chains get; off by default) */
  atKnots: boolean;
  /** the best checkpoint by dev loss (MeZO) or by the task metric */
  selectBy: SelectBy;
  /** stop after this many evaluations in a row without a better `selectBy` value
   * (undefined: never); see cola/earlyStop.ts for what stopping means for a chain */
  earlyStoppingPatience?: number;
}

export interface RunConfig {
  method: Method;
  seed: number;
  outDir: string;
  resume: boolean;
  data: DataConfig;
  budget: BudgetConfig;
  optim: OptimConfig;
  chain: ChainConfig;
  lora: LoraConfig;
  eval: EvalConfig;
  saveEvery: number;
  saveLinkAdapters: boolean;
  /** recompute each block's activations in backward (needs LoRA dropout 0) */
  gradientCheckpointing: boolean;
  /** extra logs beside metrics.jsonl and metrics.csv: a TensorBoard event file */
  reportTo: ReportTo;
  /** data parallel under mpirun (issue 19): the collectives' deadline in seconds (0 = none);
   * undefined for one process */
  rankTimeout?: number;
  /** --quantize-calibration (issue 17): the base's quantized codes chosen by GPTQ on the
   * first N training examples (api/calibratedBase.ts); undefined = round-to-nearest */
  quantizeCalibration?: number;
}

export type ReportTo = 'none' | 'tensorboard';

/** What the caller knows beyond the flags: the library's LoRA overrides (rank and
 * alpha patterns, trainBias) and which flags were given explicitly. */
export interface ResolveOptions {
  lora?: Partial<LoraConfig>;
  /** where the values came from, for messages ("cola train", "fineTune") */
  where?: string;
  /** the run is data parallel over the ranks of an mpirun job (--rank-timeout applies) */
  distributed?: boolean;
}

/** The chain's flags: LoRA and full fine-tuning train one link. */
const CHAIN_FLAGS: (keyof RunFlags)[] = [
  'chainLength',
  'knots',
  'knotEvery',
  'linkRanks',
  'linkLrs',
  'chainSchedule',
  'rewarmupSteps',
  'optimizerReset',
  'evalAtKnots',
  'knotIntoBase',
];

/** The flags a method does not read; giving one is an error, not a silent no-op. */
const UNUSED_BY: Record<Method, (keyof RunFlags)[]> = {
  lora: CHAIN_FLAGS,
  full: [...CHAIN_FLAGS, 'rslora', 'targetRegex', 'saveLinkAdapters', 'useDora', 'loraplusLrRatio'],
  cola: ['knotEvery'],
  relora: ['chainLength', 'knots'],
};

export function resolveRunConfig(run: RunFlags, data: DataFlags, opts: ResolveOptions = {}): RunConfig {
  const where = opts.where ?? 'cola train';
  const p: string[] = [];
  const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const method = run.method as Method;
  for (const k of UNUSED_BY[method]) {
    const v = run[k];
    if (v !== undefined && v !== false) p.push(`${flag(k)} does not apply to --method ${method}; drop it`);
  }
  const positive = (k: keyof RunFlags, v: number | undefined, min: number, what: string): void => {
    if (v !== undefined && !(v >= min)) p.push(`${flag(k)} must be ${what}, got ${v}`);
  };
  positive('lr', run.lr, Number.MIN_VALUE, 'a positive number');
  positive('epochs', run.epochs, Number.MIN_VALUE, 'a positive number');
  positive('maxSteps', run.maxSteps, 1, 'at least 1');
  positive('batchSize', run.batchSize, 1, 'at least 1');
  positive('gradAccum', run.gradAccum, 1, 'at least 1');
  positive('weightDecay', run.weightDecay, 0, '0 or more');
  positive('maxGradNorm', run.maxGradNorm, 0, '0 (off) or more');
  positive('warmupSteps', run.warmupSteps, 0, '0 or more');
  positive('evalEvery', run.evalEvery, 0, '0 (every epoch) or more');
  positive('saveEvery', run.saveEvery, 0, '0 (only at knots and the end) or more');
  positive('chainLength', run.chainLength, 1, 'at least 1');
  positive('knotEvery', run.knotEvery, 1, 'at least 1');
  positive('rewarmupSteps', run.rewarmupSteps, 0, '0 or more');
  positive('earlyStoppingPatience', run.earlyStoppingPatience, 1, 'at least 1');
  positive('loraplusLrRatio', run.loraplusLrRatio, Number.MIN_VALUE, 'a positive number (LoRA+ paper: 16)');
  const linkRanks = numberList(run.linkRanks, 'linkRanks', p, { integer: true });
  const linkLrs = numberList(run.linkLrs, 'linkLrs', p, { integer: false });
  const chainSchedule = (run.chainSchedule ?? (method === 'relora' ? 'jagged' : 'continue')) as ChainScheduleMode;
  if (run.rewarmupSteps !== undefined && chainSchedule !== 'jagged')
    p.push(`--rewarmup-steps applies to --chain-schedule jagged only (this run: ${chainSchedule}); drop it`);
  const optimizerReset = run.optimizerReset ?? (method === 'relora' ? 'magnitude:0.99' : 'full');
  try {
    parseMomentReset(optimizerReset, '--optimizer-reset');
  } catch (e) {
    p.push((e as Error).message);
  }
  // A partial reset carries Adam moments into the next link; moments of another rank do not fit it.
  if (optimizerReset !== 'full' && linkRanks && new Set(linkRanks).size > 1)
    p.push(
      `--optimizer-reset ${optimizerReset} carries Adam moments across knots, but --link-ranks ${linkRanks.join(',')} changes the rank: ` +
        'moments of one rank cannot fit factors of another. Use --optimizer-reset full, or one rank for every link',
    );
  if (data.task !== undefined && data.data !== undefined) p.push('give --task or --data, not both');
  if (data.task !== undefined && data.skipBad)
    p.push("--skip-bad applies to --data JSONL files; the paper's task files are read whole (drop --skip-bad)");
  if (data.fewglue && (data.numTrain !== undefined || data.numDev !== undefined))
    p.push("--fewglue uses FewGLUE's fixed 32-example train and dev32 splits: drop --num-train/--num-dev");
  if (data.chatTemplate !== undefined) {
    if (data.data === undefined) p.push('--chat-template applies to {"messages"} rows of a --data file; drop it');
    const problem = chatTemplateProblem(data.chatTemplate);
    if (problem) p.push(problem);
  }
  if (run.earlyStoppingPatience !== undefined && data.data !== undefined && data.devData === undefined)
    p.push('--early-stopping-patience needs dev evaluations: give --dev-data FILE, or drop --early-stopping-patience');
  if (data.maxLength !== undefined && data.maxLength < 2)
    p.push(`--max-length must be at least 2 (a token and the one it predicts), got ${data.maxLength}`);
  if (run.out === undefined || run.out === '') p.push('--out DIR is required (the run folder)');
  if (run.rankTimeout !== undefined && !opts.distributed)
    p.push('--rank-timeout applies to data-parallel runs under mpirun (`mpirun -np N cola train ...`); drop it');
  positive('rankTimeout', run.rankTimeout, 0, '0 (wait forever) or more seconds');
  const lora = loraConfig(run, opts.lora, where, p);
  if (lora && linkRanks && lora.rankPattern && Object.keys(lora.rankPattern).length)
    p.push('a rank pattern and --link-ranks both set ranks: use one of them');
  if (lora && method === 'full' && (lora.init !== 'kaiming' || lora.useDora))
    p.push(`--method full trains every weight: LoRA settings (init "${lora.init}", DoRA ${lora.useDora}) do not apply; drop them`);
  if (lora && lora.trainBias !== 'none')
    p.push(
      `trainBias "${lora.trainBias}" is not supported: cola would train biases it neither checkpoints nor exports. Use trainBias "none"`,
    );
  if (run.quantizeCalibration !== undefined && method === 'full')
    p.push(
      '--quantize-calibration chooses the codes of a --quantize base, which --method full never has (it trains every weight): drop it',
    );
  positive('quantizeCalibration', run.quantizeCalibration, 1, 'a positive number of training examples');
  if (run.quantizeCalibration !== undefined && lora && isLoftqInit(lora.init))
    p.push(
      `--quantize-calibration (GPTQ codes) and --lora-init ${lora.init} (LoftQ codes) both choose the quantized base's codes: use one of them`,
    );
  if (run.gradientCheckpointing && method !== 'full' && run.loraDropout > 0)
    p.push(
      `--gradient-checkpointing needs --lora-dropout 0 (got ${run.loraDropout}): the recomputed forward pass would draw other dropout masks`,
    );
  if (p.length) throw new ColaError(`${where}: ${p.length === 1 ? p[0] : '\n  ' + p.join('\n  ')}`);
  return {
    method,
    seed: run.seed,
    outDir: run.out!,
    resume: run.resume,
    data: {
      data: data.data,
      devData: data.devData,
      task: data.task,
      dataDir: data.dataDir,
      source: data.boolqFromVal ? 'val' : data.fewglue ? 'fewglue' : undefined,
      seed: data.dataSeed ?? run.seed,
      numTrain: data.numTrain,
      numDev: data.numDev,
      numTest: data.numTest,
      maxLength: data.maxLength,
      skipBad: data.skipBad,
      chatTemplate: data.chatTemplate,
      pack: data.pack,
    },
    budget: { epochs: run.epochs, maxSteps: run.maxSteps, batchSize: run.batchSize, gradAccum: run.gradAccum },
    optim: {
      lr: run.lr,
      schedule: run.schedule as ScheduleKind,
      warmupSteps: run.warmupSteps,
      weightDecay: run.weightDecay,
      maxGradNorm: run.maxGradNorm,
      loraplusLrRatio: run.loraplusLrRatio,
    },
    chain: {
      length: method === 'cola' ? (run.knots?.length ? run.knots.length + 1 : (run.chainLength ?? 3)) : 1,
      knots: method === 'cola' && run.knots?.length ? run.knots : undefined,
      knotEvery: method === 'relora' ? (run.knotEvery ?? 100) : undefined,
      linkRanks,
      linkLrs,
      schedule: chainSchedule,
      rewarmupSteps: run.rewarmupSteps ?? 10,
      optimizerReset,
      knotIntoBase: run.knotIntoBase,
    },
    lora: lora!,
    eval: {
      every: run.evalEvery,
      atKnots: run.evalAtKnots,
      selectBy: run.selectBy as SelectBy,
      earlyStoppingPatience: run.earlyStoppingPatience,
    },
    saveEvery: run.saveEvery,
    saveLinkAdapters: run.saveLinkAdapters,
    gradientCheckpointing: run.gradientCheckpointing,
    reportTo: run.reportTo as ReportTo,
    ...(opts.distributed ? { rankTimeout: run.rankTimeout ?? DEFAULT_RANK_TIMEOUT_S } : {}),
    ...(run.quantizeCalibration !== undefined ? { quantizeCalibration: run.quantizeCalibration } : {}),
  };
}

function loraConfig(run: RunFlags, over: Partial<LoraConfig> | undefined, where: string, p: string[]): LoraConfig | null {
  // --target-regex selects alone (it overrides --targets and its default)
  const targets =
    run.targetRegex !== undefined ? [] : run.targets.length === 1 && run.targets[0] === 'all-linear' ? 'all-linear' : run.targets;
  const regexOnly = over?.targetRegex !== undefined && over.targets === undefined ? { targets: [] } : {};
  const cfg: LoraConfig = {
    ...DEFAULT_LORA_CONFIG,
    r: run.rank,
    alpha: run.alpha,
    dropout: run.loraDropout,
    useRslora: run.rslora,
    init: run.loraInit as LoraConfig['init'], // checked by validateLoraConfig
    useDora: run.useDora,
    targets,
    targetRegex: run.targetRegex,
    ...regexOnly,
    ...over,
  };
  try {
    return validateLoraConfig(cfg, `${where} lora`);
  } catch (e) {
    p.push((e as Error).message);
    return null;
  }
}

function numberList(v: string[] | undefined, k: string, p: string[], o: { integer: boolean }): number[] | undefined {
  if (v === undefined || v.length === 0) return undefined;
  const out = v.map((s) => (/^\s*(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s) ? Number(s) : NaN));
  const ok = out.every((x) => Number.isFinite(x) && x > 0 && (!o.integer || (Number.isInteger(x) && x >= 1)));
  if (!ok) {
    const what = o.integer ? 'integers of at least 1' : 'positive numbers';
    p.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected ${what} separated by commas, got ${v.join(',')}`);
  }
  return out;
}

/** A RunConfig from `cola train`'s defaults and the given flag values (tests, scripts). */
export function makeRunConfig(
  run: Partial<RunFlags> & { out: string },
  data: Partial<DataFlags> = {},
  opts: ResolveOptions = {},
): RunConfig {
  return resolveRunConfig({ ...defaultsOf(RUN_FLAGS), ...run }, { ...defaultsOf(DATA_FLAGS), ...data }, opts);
}
