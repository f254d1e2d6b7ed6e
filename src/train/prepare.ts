import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import { dataFiles, loadJsonlDataset, readTextCorpus } from '../data/formats.js';
import { packStats } from '../data/packing.js';
import { goldToLm } from '../data/goldLm.js';
import { checkMaxLength, reportTruncation, resolveMaxLength, type SplitCounts } from '../data/maxLength.js';
import { taskTokenizer } from '../data/startToken.js';
import { loadTaskData, type DataSource } from '../data/taskData.js';
import { getTask } from '../data/tasks/registry.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { truncateLmExample } from '../data/truncate.js';
import { tokenizeChoice } from '../data/verbalize.js';
import type { ClassificationExample, LmExample } from '../data/examples.js';
import type { CausalLM } from '../models/causalLM.js';
import { evaluateClassification, evaluateLm, type Metrics } from '../eval/evaluate.js';
import { splitHeldOut, type HeldOut } from './heldOut.js';
import { classificationObjective, lmObjective, meanLoss, packedLmObjective, type Objective } from './objective.js';

/** Where training data comes from: a user file or one of the paper's tasks. */
export interface DataSpec {
  data?: string;
  devData?: string;
  task?: string;
  dataDir?: string;
  source?: DataSource;
  seed: number;
  numTrain?: number;
  numDev?: number;
  numTest?: number;
  /** Tokens per sequence; default the model's context (PrepareContext.contextLength). */
  maxLength?: number;
  skipBad?: boolean;
  /** Pack the LM training examples into sequences of maxLength tokens (packing.ts, issue 18). */
  pack?: boolean;
  /** `data` split by the tool into train/dev/test (heldOut.ts; `cola experiment`'s corpus). */
  heldOut?: HeldOut;
}

/** What prepareData needs to know of the model. */
export interface PrepareContext {
  /** Positions the model takes (ModelDims.maxPositions): default and cap of maxLength. */
  contextLength: number;
  /** config.json model_type; "opt" gets MeZO's start token on the tasks (startToken.ts). */
  modelType?: string;
  /** Where warnings go (a capped --max-length, truncated examples, skipped lines); default stderr. */
  warn?: (msg: string) => void;
}

/** Tokenized splits, ready for the trainer and the evaluators. */
export interface PreparedData {
  kind: 'lm' | 'classification';
  train: Objective;
  counts: SplitCounts;
  /** Examples per split that are longer than the max length and lose their first tokens. */
  truncated: SplitCounts;
  /** Metrics on a split ('dev' or 'test'); the first key selects the best checkpoint. */
  evaluate(model: CausalLM, split: 'dev' | 'test'): Metrics;
  higherIsBetter: boolean;
  hasSplit(split: 'dev' | 'test'): boolean;
}

const NONE: SplitCounts = { train: 0, dev: 0, test: 0 };

export function prepareData(spec: DataSpec, tok: TextTokenizer, ctx: PrepareContext): PreparedData {
  const warn = ctx.warn ?? ((msg: string) => process.stderr.write(`cola: ${msg}\n`));
  const maxLength = resolveMaxLength(spec.maxLength, ctx.contextLength, warn);
  const read = { maxLength, warn, pack: spec.pack };
  const data = spec.task ? prepareTask(spec, taskTokenizer(tok, ctx.modelType), read) : prepareFiles(spec, tok, read);
  reportTruncation(data.truncated, data.counts, { maxLength, contextLength: ctx.contextLength }, warn);
  return data;
}

export interface ReadOptions {
  maxLength: number;
  warn: (msg: string) => void;
  skipBad?: boolean;
  pack?: boolean;
}

function prepareFiles(spec: DataSpec, tok: TextTokenizer, o: ReadOptions): PreparedData {
  if (!spec.data) throw new ColaError('give training data: --data FILE.jsonl (or .txt), or --task NAME --data-dir DIR');
  const read = { ...o, skipBad: spec.skipBad };
  if (spec.heldOut) return heldOutData(spec.data, spec, tok, read);
  const train = readLmFiles(spec.data, tok, read);
  const dev = spec.devData ? readLmFiles(spec.devData, tok, read) : { examples: [], cut: [] };
  return lmData(train.examples, dev.examples, [], tok, { train: countCut(train), dev: countCut(dev), test: 0 }, packing(o));
}

/** The files' rows split into train/dev/test by `spec.heldOut` (heldOut.ts), with the
 * rows left-truncated to maxLength counted per split (a .txt corpus's windows never are). */
function heldOutData(files: string, spec: DataSpec, tok: TextTokenizer, o: ReadOptions): PreparedData {
  if (spec.devData)
    throw new ColaError(`--dev-data ${spec.devData}: the data is split into train/dev/test by its held-out fractions; drop --dev-data`);
  const read = readLmFiles(files, tok, o);
  const rows = read.examples.map((example, i) => ({ example, cut: read.cut[i] }));
  const s = splitHeldOut(rows, spec.heldOut!, { ...spec, maxLength: o.maxLength, what: `--data ${files}` });
  const examples = (split: typeof rows) => split.map((r) => r.example);
  const cut = (split: typeof rows) => split.filter((r) => r.cut).length;
  const truncated = { train: cut(s.train), dev: cut(s.dev), test: cut(s.test) };
  return lmData(examples(s.train), examples(s.dev), examples(s.test), tok, truncated, packing(o));
}

/** Examples read from data files, `cut[i]` telling whether example i was left-truncated
 * to maxLength. */
export interface LmRows {
  examples: LmExample[];
  cut: boolean[];
}

const countCut = (rows: LmRows): number => rows.cut.filter(Boolean).length;

/** `--data a.jsonl,b.txt`: every file's examples, in the order given (JSONL rows of any
 * LM format, mixed row by row; .txt corpora as windows of maxLength tokens). */
export function readLmFiles(flag: string, tok: TextTokenizer, o: ReadOptions): LmRows {
  const files = dataFiles(flag);
  if (files.length === 0) throw new ColaError(`--data "${flag}": no file named; give FILE or FILE,FILE,...`);
  const parts = files.map((f) => readLm(f, tok, o));
  return { examples: parts.flatMap((p) => p.examples), cut: parts.flatMap((p) => p.cut) };
}

function readLm(file: string, tok: TextTokenizer, o: ReadOptions): { examples: LmExample[]; cut: boolean[] } {
  const { maxLength } = o;
  if (!fs.existsSync(file)) throw new ColaError(`${file}: file not found`);
  if (file.endsWith('.txt')) {
    const windows = textChunks(readTextCorpus(file), tok, maxLength);
    return { examples: windows, cut: windows.map(() => false) };
  }
  const ds = loadJsonlDataset(file, tok, { skipBad: o.skipBad });
  if (ds.skipped) o.warn(`skipped ${ds.skipped} bad line(s) of ${file}`);
  // Not a bad row (--skip-bad would drop valid data): a row this trainer cannot use.
  if (ds.firstClassification)
    throw new ColaError(
      `${ds.firstClassification}: classification rows ({"prompt","candidates","label"}; ${ds.formats.classification} in this file) ` +
        'train with --task or score with cola eval; train on text, prompt/completion or chat rows here (move the classification rows to another file)',
    );
  return {
    examples: ds.lm.map((e) => truncateLmExample(e, maxLength, tok.bosId)),
    cut: ds.lm.map((e) => e.ids.length > maxLength),
  };
}

/** A plain-text corpus as consecutive windows of maxLength tokens, each starting with BOS.
 * Every window holds at least one new token (maxLength >= 2), so the loop always ends. */
export function textChunks(text: string, tok: TextTokenizer, maxLength: number): LmExample[] {
  checkMaxLength(maxLength);
  const ids = tok.encode(text, { addBos: false });
  const body = maxLength - (tok.bosId !== null ? 1 : 0);
  const out: LmExample[] = [];
  for (let i = 0; i + 1 < ids.length; i += body) {
    const piece = ids.slice(i, i + body);
    const full = tok.bosId !== null ? [tok.bosId, ...piece] : piece;
    out.push({ ids: full, lossMask: full.map((_, j) => (j === 0 && tok.bosId !== null ? 0 : 1)), text: '' });
  }
  return out;
}

/** How to pack the LM training examples: into sequences of `capacity` tokens (--pack). */
export interface Packing {
  capacity: number;
  warn: (msg: string) => void;
}

export function packing(o: ReadOptions): Packing | undefined {
  return o.pack ? { capacity: o.maxLength, warn: o.warn } : undefined;
}

/** The LM training objective, packed with `pack` (and the packing reported). */
function lmTrainObjective(train: LmExample[], pad: number, pack?: Packing): Objective {
  if (!pack) return lmObjective(train, pad);
  const objective = packedLmObjective(train, pad, pack.capacity);
  const s = packStats(
    train.map((e) => e.ids.length),
    objective.packs,
    pack.capacity,
  );
  pack.warn(
    `--pack: ${s.examples} training examples in ${s.packs} sequences of up to ${s.capacity} tokens ` +
      `(${s.meanPerPack.toFixed(1)} per sequence on average, at most ${s.maxPerPack}; ${(100 * s.fill).toFixed(1)}% of the tokens are real)`,
  );
  return objective;
}

/** Text splits as PreparedData: the LM objective on train, perplexity on dev/test. */
export function lmData(
  train: LmExample[],
  dev: LmExample[],
  test: LmExample[],
  tok: TextTokenizer,
  truncated: SplitCounts = NONE,
  pack?: Packing,
): PreparedData {
  const pad = tok.eosId ?? 0;
  return {
    kind: 'lm',
    train: lmTrainObjective(train, pad, pack),
    counts: { train: train.length, dev: dev.length, test: test.length },
    truncated: { ...truncated },
    evaluate: (model, split) => evaluateLm(model, split === 'dev' ? dev : test, pad),
    higherIsBetter: false,
    hasSplit: (split) => (split === 'dev' ? dev : test).length > 0,
  };
}

/** Examples with a scored sequence longer than maxLength (cut at collation, batching.ts). */
function countTruncated(examples: ClassificationExample[], maxLength: number): number {
  return examples.filter((e) => e.fullIds.some((ids) => ids.length > maxLength)).length;
}

function prepareTask(spec: DataSpec, tok: TextTokenizer, o: ReadOptions): PreparedData {
  const { maxLength } = o;
  if (!spec.dataDir) throw new ColaError(`--task ${spec.task} needs --data-dir DIR (the folder holding SST-2/, RTE/, ...)`);
  const task = getTask(spec.task!);
  if (o.pack && task.trainAsClassification)
    throw new ColaError(
      `--pack packs language-modelling examples; --task ${spec.task} trains as classification (each candidate scored in a row of its own, ` +
        'already batched by length): drop --pack (copa, trained on the gold option, packs)',
    );
  const data = loadTaskData(task, spec.dataDir, spec.seed, {
    source: spec.source,
    numTrain: spec.numTrain,
    numDev: spec.numDev,
    numEval: spec.numTest,
  });
  // MeZO utils.py:159 encodes with the tokenizer's special tokens: BOS when it has one.
  const tokenize = (rows: typeof data.train): ClassificationExample[] =>
    rows.map((r) => tokenizeChoice(tok, r, { addBos: tok.bosId !== null }));
  const [train, dev, test] = [tokenize(data.train), tokenize(data.dev), tokenize(data.test)];
  const pad = tok.eosId ?? 0;
  const opts = { maxLen: maxLength, bosId: tok.bosId };
  // finetune.sh trains every task as classification except Copa, which is LM-style on
  // the gold option (goldLm.ts).
  const goldLm = (rows: ClassificationExample[]): LmExample[] => rows.map((e) => truncateLmExample(goldToLm(e), maxLength, tok.bosId));
  const objectiveOf = (rows: ClassificationExample[]): Objective =>
    task.trainAsClassification ? classificationObjective(rows, pad, maxLength, tok.bosId) : lmObjective(goldLm(rows), pad);
  const objective = task.trainAsClassification ? objectiveOf(train) : lmTrainObjective(goldLm(train), pad, packing(o));
  const held = { dev: objectiveOf(dev), test: objectiveOf(test) };
  return {
    kind: 'classification',
    train: objective,
    counts: { train: train.length, dev: dev.length, test: test.length },
    truncated: { train: countTruncated(train, maxLength), dev: countTruncated(dev, maxLength), test: countTruncated(test, maxLength) },
    // loss: the training objective on the split (MeZO's eval_loss, what it selects by)
    evaluate: (model, split) => ({
      ...evaluateClassification(model, split === 'dev' ? dev : test, pad, opts).metrics,
      loss: meanLoss(held[split], model),
    }),
    higherIsBetter: true,
    hasSplit: (split) => (split === 'dev' ? dev : test).length > 0,
  };
}
