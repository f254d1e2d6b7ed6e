/** `cola experiment`'s settings: its own flags (the grid, the corpus split, the model)
 * and the training and data flags of `cola train` its cells share. The grid sets
 * method, lr and seed per cell and resumes by itself, and each method fixes the chain's
 * shape: those train flags are not offered. */
import { QUANT_FORMATS } from '../backend/quant/format.js';
import { defaultsOf, type FlagTable, type FlagValues } from '../config/flags.js';
import { DATA_FLAGS, RUN_FLAGS, type DataFlags, type RunFlags } from '../cola/runFlags.js';
import { DEFAULT_LRS } from './grid.js';
import { DEFAULT_METHODS } from './methods.js';

export const EXPERIMENT_FLAGS = {
  model: {
    type: 'string',
    meta: 'DIR',
    required: true,
    help: 'Hugging Face model folder (config.json, model.safetensors, tokenizer.json)',
  },
  backend: {
    type: 'string',
    choices: ['native', 'reference', 'webgpu'],
    help: 'compute backend (default: native when built; env COLA_BACKEND; webgpu: docs/WEBGPU.md)',
  },
  dtype: { type: 'string', choices: ['f32', 'bf16'], help: "frozen weights in memory (default: the checkpoint's precision)" },
  quantize: {
    type: 'string',
    choices: [...QUANT_FORMATS],
    help: 'quantize the frozen linear weights of every cell (as cola train --quantize; not with --methods full)',
  },
  doubleQuant: {
    type: 'boolean',
    help: "with --quantize nf4: QLoRA's double quantization of every cell's block scales (as cola train --double-quant)",
  },
  task: { type: 'list', meta: 'LIST', help: "the paper's tasks to run, e.g. rte,sst2,cb (needs --data-dir)" },
  data: {
    type: 'string',
    meta: 'FILE[,FILE...]',
    help: 'a language-modelling corpus: .txt or JSONL files as cola train --data reads them (split into train/dev/test; metric: perplexity)',
  },
  devFraction: { type: 'number', default: 0.1, help: 'corpus: share of windows held out as dev (taken after train)' },
  testFraction: { type: 'number', default: 0.1, help: 'corpus: share of windows held out as test (the end of the corpus)' },
  methods: { type: 'list', default: DEFAULT_METHODS, meta: 'LIST', help: 'methods: full, lora, cola-lN (N links), cola-stepdown' },
  lrs: {
    type: 'list',
    default: DEFAULT_LRS,
    meta: 'LIST',
    help: 'learning-rate grid, swept for every method (paper: 1e-3,8e-4,5e-4,1e-4,5e-5)',
  },
  seeds: {
    type: 'list',
    default: ['5'],
    meta: 'N|LIST',
    help: 'a count N (seeds 0..N-1) or a list of seeds; each seed also resamples the task data',
  },
  stepdownRanks: {
    type: 'list',
    default: ['8', '4'],
    meta: 'LIST',
    help: 'cola-stepdown: rank per link (paper: 8, then 2, 4, 6 or 8)',
  },
  stepdownKnots: {
    type: 'list',
    meta: 'LIST',
    help: 'cola-stepdown: knots (default: after 3 of every 5 epochs, at an epoch boundary, as the paper)',
  },
  out: { type: 'string', meta: 'DIR', required: true, help: 'experiment folder: runs/, experiment.json, results.md, plots/, report.html' },
  quiet: { type: 'boolean', help: 'print nothing per cell' },
} as const satisfies FlagTable;

/** Train flags each cell or method sets itself. */
const GRID_OWNED = [
  'method',
  'lr',
  'seed',
  'resume',
  'chainLength',
  'knots',
  'knotEvery',
  'linkRanks',
  'linkLrs',
  'saveLinkAdapters',
  'out',
] as const;
/** Data flags the experiment replaces with its own (--task is a list, --data a corpus). */
const EXPERIMENT_REPLACES = ['devData', 'task', 'data'] as const;

const omit = <T extends FlagTable, K extends keyof T>(t: T, keys: readonly K[]): Omit<T, K> =>
  Object.fromEntries(Object.entries(t).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;

// cells train single-process (under mpirun too: one cell per rank), so no --rank-timeout
export const SHARED_RUN_FLAGS = omit(RUN_FLAGS, [...GRID_OWNED, 'rankTimeout']);
// chat rows never reach an experiment (tasks and .txt corpora only): no --chat-template
export const SHARED_DATA_FLAGS = omit(DATA_FLAGS, [...EXPERIMENT_REPLACES, 'chatTemplate']);

export type ExperimentFlags = FlagValues<typeof EXPERIMENT_FLAGS>;

/** Everything an experiment was asked for, typed: its own flags, and the train and data
 * flags every cell shares (grid-owned ones at their defaults, set per cell). */
export interface ExperimentConfig {
  exp: ExperimentFlags;
  run: RunFlags;
  data: DataFlags;
}

export function experimentConfig(exp: ExperimentFlags, run: Partial<RunFlags>, data: Partial<DataFlags>): ExperimentConfig {
  return {
    exp,
    run: { ...defaultsOf(RUN_FLAGS), ...run },
    data: { ...defaultsOf(DATA_FLAGS), ...data },
  };
}
