import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import { loadJsonlDataset, readTextCorpus } from '../data/formats.js';
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
import { classificationObjective, lmObjective, meanLoss, type Objective } from './objective.js';

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
  const data = spec.task ? prepareTask(spec, taskTokenizer(tok, ctx.modelType), maxLength) : prepareFiles(spec, tok, { maxLength, warn });
  reportTruncation(data.truncated, data.counts, { maxLength, contextLength: ctx.contextLength }, warn);
  return data;
}

interface ReadOptions {
  maxLength: number;
  warn: (msg: string) => void;
  skipBad?: boolean;
}

function prepareFiles(spec: DataSpec, tok: TextTokenizer, o: ReadOptions): PreparedData {
  if (!spec.data) throw new ColaError('give training data: --data FILE.jsonl (or .txt), or --task NAME --data-dir DIR');
  const read = { ...o, skipBad: spec.skipBad };
  const train = readLm(spec.data, tok, read);
  const dev = spec.devData ? readLm(spec.devData, tok, read) : { examples: [], truncated: 0 };
  return lmData(train.examples, dev.examples, [], tok, { train: train.truncated, dev: dev.truncated, test: 0 });
}

function readLm(file: string, tok: TextTokenizer, o: ReadOptions): { examples: LmExample[]; truncated: number } {
  const { maxLength } = o;
  if (!fs.existsSync(file)) throw new ColaError(`${file}: file not found`);
  if (file.endsWith('.txt')) return { examples: textChunks(readTextCorpus(file), tok, maxLength), truncated: 0 };
  const ds = loadJsonlDataset(file, tok, { skipBad: o.skipBad });
  if (ds.skipped) o.warn(`skipped ${ds.skipped} bad line(s) of ${file}`);
  if (ds.format === 'classification')
    throw new ColaError(
      `${file}: classification rows ({"prompt","candidates","label"}) train with --task or cola eval; use text, prompt/completion or chat rows here`,
    );
  return {
    examples: ds.lm.map((e) => truncateLmExample(e, maxLength, tok.bosId)),
    truncated: ds.lm.filter((e) => e.ids.length > maxLength).length,
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

/** Text splits as PreparedData: the LM objective on train, perplexity on dev/test. */
export function lmData(
  train: LmExample[],
  dev: LmExample[],
  test: LmExample[],
  tok: TextTokenizer,
  truncated: SplitCounts = NONE,
): PreparedData {
  const pad = tok.eosId ?? 0;
  return {
    kind: 'lm',
    train: lmObjective(train, pad),
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

function prepareTask(spec: DataSpec, tok: TextTokenizer, maxLength: number): PreparedData {
  if (!spec.dataDir) throw new ColaError(`--task ${spec.task} needs --data-dir DIR (the folder holding SST-2/, RTE/, ...)`);
  const task = getTask(spec.task!);
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
  const objectiveOf = (rows: ClassificationExample[]): Objective =>
    task.trainAsClassification
      ? classificationObjective(rows, pad, maxLength, tok.bosId)
      : lmObjective(
          rows.map((e) => truncateLmExample(goldToLm(e), maxLength, tok.bosId)),
          pad,
        );
  const objective = objectiveOf(train);
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
