/** `cola train`'s training and data settings: the flag specs (defaults and help) and
 * their conversion to a RunConfig. The CLI parses flags against these specs; the library
 * (fineTune) and the experiment grid take their defaults and conversion from here too, so
 * all three train with the same settings without the library loading the CLI. */
import type { Method, RunConfig } from '../cola/run.js';
import { ColaError } from '../errors.js';
import { DEFAULT_LORA_CONFIG, validateLoraConfig, type LoraConfig } from '../lora/config.js';
// Type-only: the spec format is the CLI's, but nothing of the CLI is loaded at run time.
import type { OptionSpecs, OptionValues } from '../cli/options.js';
import type { DataSpec } from './prepare.js';

export const dataOptions: OptionSpecs = {
  data: { type: 'string', meta: 'FILE', help: 'training data: JSONL ({"text"}, {"prompt","completion"}, {"messages"}) or a .txt corpus' },
  'dev-data': { type: 'string', meta: 'FILE', help: 'dev data (same formats) for evaluation during training' },
  task: { type: 'string', meta: 'NAME', help: "one of the paper's tasks: sst2, rte, cb, boolq, wsc, wic, multirc, copa" },
  'data-dir': { type: 'string', meta: 'DIR', help: 'folder holding the task files (SST-2/, RTE/, ...)' },
  'boolq-from-val': { type: 'boolean', help: 'BoolQ: carve train/dev/test disjointly from val.jsonl' },
  fewglue: { type: 'boolean', help: 'use the FewGLUE 32-shot train/dev32 splits' },
  'data-seed': { type: 'int', help: 'seed of the MeZO train/dev/test sampling (default: --seed)' },
  'num-train': { type: 'int', help: 'training examples sampled per task (MeZO: 1000)' },
  'num-dev': { type: 'int', help: 'dev examples sampled per task (MeZO: 500, CB/COPA 100)' },
  'num-test': { type: 'int', help: 'test examples (MeZO: up to 1000)' },
  'max-length': { type: 'int', default: 256, help: 'tokens per sequence (left-truncated, BOS kept)' },
  'skip-bad': { type: 'boolean', help: 'skip malformed JSONL lines (and report how many) instead of stopping' },
};

export const trainOptions: OptionSpecs = {
  method: { type: 'string', default: 'cola', choices: ['lora', 'cola', 'relora', 'full'], help: 'training method' },
  'chain-length': { type: 'int', default: 3, help: 'COLA: links, knots evenly spaced over the budget' },
  knots: { type: 'list', meta: 'LIST', help: 'COLA: explicit knots, steps (120) or epoch positions (1.5e)' },
  'knot-every': { type: 'int', default: 100, help: 'ReLoRA: a knot every N steps' },
  'link-ranks': { type: 'list', meta: 'LIST', help: 'COLA rank per link, e.g. 8,8,4 (rank step-down)' },
  'link-lrs': { type: 'list', meta: 'LIST', help: 'peak learning rate per link' },
  'chain-schedule': {
    type: 'string',
    choices: ['continue', 'restart', 'jagged'],
    help: 'LR schedule across knots (default continue; relora: jagged)',
  },
  'rewarmup-steps': { type: 'int', default: 10, help: 'jagged schedule: re-warmup steps after a knot' },
  'optimizer-reset': {
    type: 'string',
    help: 'at a knot: full (paper), none, magnitude:P, random:P (default full; relora: magnitude:0.99)',
  },
  rank: { type: 'int', default: 8, help: 'LoRA rank r' },
  alpha: { type: 'number', default: 16, help: 'LoRA alpha (scale alpha/r)' },
  rslora: { type: 'boolean', help: 'rsLoRA scale alpha/sqrt(r)' },
  targets: { type: 'list', default: ['q_proj', 'v_proj'], meta: 'LIST', help: 'module-name suffixes to adapt, or all-linear' },
  'target-regex': { type: 'string', help: 'full-match regex on module paths (overrides --targets)' },
  'lora-dropout': { type: 'number', default: 0, help: 'dropout on the LoRA input' },
  'lora-init': { type: 'string', default: 'kaiming', choices: ['kaiming', 'gaussian'], help: 'initialisation of A' },
  'gradient-checkpointing': {
    type: 'boolean',
    help: 'recompute activations in backward instead of keeping them (OPT; with --lora-dropout 0): OPT-1.3B bf16 at batch 8 trains in 1.22x its weights',
  },
  epochs: { type: 'number', default: 5, help: 'training epochs (paper: 5)' },
  'max-steps': { type: 'int', help: 'stop after this many optimizer steps (overrides --epochs)' },
  lr: { type: 'number', default: 5e-4, help: 'peak learning rate' },
  schedule: { type: 'string', default: 'linear', choices: ['constant', 'linear', 'cosine'], help: 'LR schedule (paper: linear)' },
  'warmup-steps': { type: 'int', default: 0, help: 'linear warmup steps' },
  'weight-decay': { type: 'number', default: 0, help: 'AdamW decoupled weight decay' },
  'max-grad-norm': { type: 'number', default: 1, help: 'clip the gradient norm (0 = off)' },
  'batch-size': { type: 'int', default: 8, help: 'examples per micro-batch' },
  'grad-accum': { type: 'int', default: 1, help: 'micro-batches per optimizer step' },
  seed: { type: 'int', default: 0, help: 'seed of initialisation, data order and dropout' },
  'eval-every': { type: 'int', default: 0, help: 'evaluate on dev every N steps (always at each knot and the end)' },
  'save-every': { type: 'int', default: 50, help: 'checkpoint every N steps (also at every knot)' },
  'save-link-adapters': { type: 'boolean', help: 'also write one PEFT adapter per link under links/' },
  out: { type: 'string', meta: 'DIR', required: true, help: 'run folder' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
};

/** The defaults of the training and data flags, by flag name. */
export function trainDefaults(): OptionValues {
  return Object.fromEntries(
    Object.entries({ ...dataOptions, ...trainOptions }).flatMap(([k, s]) => (s.default === undefined ? [] : [[k, s.default]])),
  );
}

export function loraConfigFrom(v: OptionValues): LoraConfig {
  const targets = v['targets'] as string[];
  const targetRegex = v['target-regex'] as string | undefined;
  return validateLoraConfig({
    ...DEFAULT_LORA_CONFIG,
    r: v['rank'] as number,
    alpha: v['alpha'] as number,
    dropout: v['lora-dropout'] as number,
    useRslora: (v['rslora'] as boolean | undefined) ?? false,
    init: v['lora-init'] as 'kaiming' | 'gaussian',
    // --target-regex overrides --targets (and its default)
    targets: targetRegex !== undefined ? [] : targets.length === 1 && targets[0] === 'all-linear' ? 'all-linear' : targets,
    targetRegex,
  });
}

export function runConfigFrom(v: OptionValues): RunConfig {
  const method = v['method'] as Method;
  const relora = method === 'relora';
  return {
    method,
    gradientCheckpointing: (v['gradient-checkpointing'] as boolean | undefined) ?? false,
    outDir: v['out'] as string,
    seed: v['seed'] as number,
    epochs: v['epochs'] as number,
    maxSteps: v['max-steps'] as number | undefined,
    batchSize: v['batch-size'] as number,
    gradAccum: v['grad-accum'] as number,
    lr: v['lr'] as number,
    schedule: v['schedule'] as RunConfig['schedule'],
    warmupSteps: v['warmup-steps'] as number,
    weightDecay: v['weight-decay'] as number,
    maxGradNorm: v['max-grad-norm'] as number,
    chainLength: v['chain-length'] as number,
    knots: v['knots'] as string[] | undefined,
    knotEvery: v['knot-every'] as number,
    linkRanks: numbers(v['link-ranks'], 'link-ranks'),
    linkLrs: numbers(v['link-lrs'], 'link-lrs'),
    chainSchedule: (v['chain-schedule'] as RunConfig['chainSchedule'] | undefined) ?? (relora ? 'jagged' : 'continue'),
    rewarmupSteps: v['rewarmup-steps'] as number,
    optimizerReset: checkReset((v['optimizer-reset'] as string | undefined) ?? (relora ? 'magnitude:0.99' : 'full')),
    lora: loraConfigFrom(v),
    evalEvery: v['eval-every'] as number,
    saveEvery: v['save-every'] as number,
    saveLinkAdapters: (v['save-link-adapters'] as boolean | undefined) ?? false,
    resume: (v['resume'] as boolean | undefined) ?? false,
  };
}

/** The data flags as a DataSpec; the seed defaults to the run's, and the max length is
 * capped to the model's context later, once the model is known. */
export function dataSpecFrom(v: OptionValues): Omit<DataSpec, 'seed'> & { dataSeed?: number } {
  return {
    data: v['data'] as string | undefined,
    devData: v['dev-data'] as string | undefined,
    task: v['task'] as string | undefined,
    dataDir: v['data-dir'] as string | undefined,
    source: v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined,
    dataSeed: v['data-seed'] as number | undefined,
    numTrain: v['num-train'] as number | undefined,
    numDev: v['num-dev'] as number | undefined,
    numTest: v['num-test'] as number | undefined,
    maxLength: v['max-length'] as number,
    skipBad: v['skip-bad'] as boolean | undefined,
  };
}

function numbers(v: unknown, flag: string): number[] | undefined {
  if (!v) return undefined;
  const out = (v as string[]).map(Number);
  if (out.some((x) => !Number.isFinite(x) || x <= 0))
    throw new ColaError(`--${flag}: expected positive numbers separated by commas, got ${(v as string[]).join(',')}`);
  return out;
}

function checkReset(s: string): string {
  if (s === 'full' || s === 'none' || /^(magnitude|random):(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(s)) return s;
  throw new ColaError(`--optimizer-reset: expected full, none, magnitude:P or random:P with P in [0, 1], got "${s}"`);
}
