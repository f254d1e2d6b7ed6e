/** The flag tables of a training run: every setting `cola train` takes, with its type,
 * default and help. `cola train` parses them, `fineTune` takes the same keys as
 * options, and `cola experiment` shares them across its cells; runConfig.ts turns the
 * typed values into the validated RunConfig all three run with. A flag without a default
 * here is one whose absence means something (the model's context, the method's own
 * default), so that a flag a method does not use can be refused when it is given. */
import type { FlagTable, FlagValues } from '../config/flags.js';

export const DATA_FLAGS = {
  data: {
    type: 'string',
    meta: 'FILE[,FILE...]',
    help: 'training data: JSONL ({"text"}, {"prompt","completion"}, {"messages"}; formats may mix, row by row) or .txt corpora, comma-separated',
  },
  devData: { type: 'string', meta: 'FILE[,FILE...]', help: 'dev data (same formats) for evaluation during training' },
  task: { type: 'string', meta: 'NAME', help: "one of the paper's tasks: sst2, rte, cb, boolq, wsc, wic, multirc, copa" },
  dataDir: { type: 'string', meta: 'DIR', help: 'folder holding the task files (SST-2/, RTE/, ...)' },
  boolqFromVal: { type: 'boolean', help: 'BoolQ: carve train/dev/test disjointly from val.jsonl' },
  fewglue: { type: 'boolean', help: 'use the FewGLUE 32-shot train/dev32 splits' },
  dataSeed: { type: 'int', help: 'seed of the MeZO train/dev/test sampling (default: --seed)' },
  numTrain: { type: 'int', help: 'training examples sampled per task (MeZO: 1000)' },
  numDev: { type: 'int', help: 'dev examples sampled per task (MeZO: 500, CB/COPA 100)' },
  numTest: { type: 'int', help: 'test examples (MeZO: up to 1000)' },
  maxLength: { type: 'int', help: "tokens per sequence, left-truncated with BOS kept (default: the model's context, as MeZO)" },
  skipBad: { type: 'boolean', help: 'skip malformed JSONL lines (and report how many) instead of stopping' },
  pack: {
    type: 'boolean',
    help: 'pack short training examples into --max-length sequences (each attends only to itself): fewer, fuller steps, same loss',
  },
  chatTemplate: {
    type: 'string',
    meta: 'NAME|FILE',
    help: 'chat template for {"messages"} rows instead of the tokenizer\'s: chatml, llama-2, llama-3, mistral, zephyr, gemma, phi-3, or a Jinja file',
  },
} as const satisfies FlagTable;

export const RUN_FLAGS = {
  method: { type: 'string', default: 'cola', choices: ['lora', 'cola', 'relora', 'full'], help: 'training method' },
  chainLength: { type: 'int', help: 'COLA: links, knots evenly spaced over the budget (default 3)' },
  knots: { type: 'list', meta: 'LIST', help: 'COLA: explicit knots, steps (120) or epoch positions (1.5e)' },
  knotEvery: { type: 'int', help: 'ReLoRA: a knot every N steps (default 100)' },
  linkRanks: { type: 'list', meta: 'LIST', help: 'COLA/ReLoRA rank per link, e.g. 8,8,4 (rank step-down); the last repeats' },
  linkLrs: { type: 'list', meta: 'LIST', help: 'COLA/ReLoRA peak learning rate per link; the last repeats' },
  chainSchedule: {
    type: 'string',
    choices: ['continue', 'restart', 'jagged'],
    help: 'LR schedule across knots (default continue; relora: jagged)',
  },
  rewarmupSteps: { type: 'int', help: 'jagged schedule: re-warmup steps after a knot (default 10)' },
  optimizerReset: {
    type: 'string',
    help: 'at a knot: full (paper), none, magnitude:P, random:P (default full; relora: magnitude:0.99)',
  },
  knotIntoBase: {
    type: 'boolean',
    help: 'COLA/ReLoRA on a --quantize base: re-quantize each knot into the weights (lossy; the error is logged per knot) instead of keeping the merged links as an exact frozen low-rank residual',
  },
  quantizeCalibration: {
    type: 'int',
    meta: 'N',
    help: "with --quantize: choose the base's codes with GPTQ (AutoGPTQ's calibrated quantization) on the first N training examples instead of round-to-nearest; same format and kernels, the dense base is loaded first (docs/QUANTIZATION.md)",
  },
  rank: { type: 'int', default: 8, help: 'LoRA rank r' },
  alpha: { type: 'number', default: 16, help: 'LoRA alpha (scale alpha/r)' },
  rslora: { type: 'boolean', help: 'rsLoRA scale alpha/sqrt(r)' },
  targets: { type: 'list', default: ['q_proj', 'v_proj'], meta: 'LIST', help: 'module-name suffixes to adapt, or all-linear' },
  targetRegex: { type: 'string', help: 'full-match regex on module paths (overrides --targets)' },
  loraDropout: { type: 'number', default: 0, help: 'dropout on the LoRA input' },
  loraInit: {
    type: 'string',
    default: 'kaiming',
    meta: 'NAME',
    help: "PEFT's init_lora_weights: kaiming, gaussian, pissa, pissa_niter_N (randomized SVD, N iterations), olora, loftq, loftq_iter_N; pissa/olora take A and B from the weight (at a knot: from the merged weight) and leave the residual as base; loftq (with --quantize only) chooses the base's codes and the first link's A and B together (LoftQ, N alternations, default 1; docs/QUANTIZATION.md)",
  },
  useDora: {
    type: 'boolean',
    help: "DoRA (PEFT's use_dora): a trainable magnitude per output row; a knot merges the whole DoRA weight and the next link starts with m = ||W_merged||_row",
  },
  loraplusLrRatio: {
    type: 'number',
    meta: 'RATIO',
    help: "LoRA+ (PEFT's loraplus_lr_ratio): lora_B (and DoRA's magnitude) train at lr * RATIO, lora_A at lr (paper: 16)",
  },
  gradientCheckpointing: {
    type: 'boolean',
    help: 'recompute activations in backward instead of keeping them (OPT, Llama, Qwen, Gemma 2/3, Phi-3; with --lora-dropout 0): OPT-1.3B bf16 at batch 8 trains in 1.22x its weights',
  },
  epochs: { type: 'number', default: 5, help: 'training epochs (paper: 5)' },
  maxSteps: { type: 'int', help: 'stop after this many optimizer steps (overrides --epochs)' },
  lr: { type: 'number', default: 5e-4, help: 'peak learning rate' },
  schedule: { type: 'string', default: 'linear', choices: ['constant', 'linear', 'cosine'], help: 'LR schedule (paper: linear)' },
  warmupSteps: { type: 'int', default: 0, help: 'linear warmup steps' },
  weightDecay: { type: 'number', default: 0, help: 'AdamW decoupled weight decay' },
  maxGradNorm: { type: 'number', default: 1, help: 'clip the gradient norm (0 = off)' },
  batchSize: { type: 'int', default: 8, help: 'examples per micro-batch' },
  gradAccum: { type: 'int', default: 1, help: 'micro-batches per optimizer step' },
  seed: { type: 'int', default: 0, help: 'seed of initialisation, data order and dropout' },
  evalEvery: {
    type: 'int',
    default: 0,
    help: 'evaluate on dev every N steps instead of at the end of every epoch (0: every epoch, as MeZO); always at the last step',
  },
  evalAtKnots: { type: 'boolean', help: 'also evaluate (and select) at every knot: extra selection points only chains get' },
  selectBy: {
    type: 'string',
    default: 'loss',
    choices: ['loss', 'metric'],
    help: 'best checkpoint by dev loss (MeZO: load_best_model_at_end on eval loss) or by the task metric (accuracy, perplexity)',
  },
  earlyStoppingPatience: {
    type: 'int',
    meta: 'N',
    help: 'stop the run (a chain: every link left) after N dev evaluations in a row without a better --select-by value (off by default)',
  },
  reportTo: {
    type: 'string',
    default: 'none',
    choices: ['none', 'tensorboard'],
    help: 'also log to: tensorboard (event file in the run folder); metrics.csv is always written',
  },
  saveEvery: { type: 'int', default: 50, help: 'checkpoint every N steps (also at every knot)' },
  saveLinkAdapters: { type: 'boolean', help: 'also write one PEFT adapter per link under links/' },
  rankTimeout: {
    type: 'number',
    meta: 'SECONDS',
    help: 'under mpirun: stop the job when a collective waits longer than this for a rank that hangs (stopped, deadlocked); must exceed what rank 0 does alone (dev evaluation, checkpoints); 0 = wait forever (default 600)',
  },
  out: { type: 'string', meta: 'DIR', required: true, help: 'run folder' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
} as const satisfies FlagTable;

export type DataFlags = FlagValues<typeof DATA_FLAGS>;
export type RunFlags = FlagValues<typeof RUN_FLAGS>;
