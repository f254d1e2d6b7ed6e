import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import { loadJsonlDataset, readTextCorpus } from '../data/formats.js';
import { goldToLm } from '../data/goldLm.js';
import { loadTaskData, type DataSource } from '../data/taskData.js';
import { getTask } from '../data/tasks/registry.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { truncateLmExample } from '../data/truncate.js';
import { tokenizeChoice } from '../data/verbalize.js';
import type { ClassificationExample, LmExample } from '../data/examples.js';
import type { CausalLM } from '../models/causalLM.js';
import { evaluateClassification, evaluateLm, type Metrics } from '../eval/evaluate.js';
import { classificationObjective, lmObjective, type Objective } from './objective.js';

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
  maxLength: number;
  skipBad?: boolean;
}

/** Tokenized splits, ready for the trainer and the evaluators. */
export interface PreparedData {
  kind: 'lm' | 'classification';
  train: Objective;
  counts: { train: number; dev: number; test: number };
  /** Metrics on a split ('dev' or 'test'); the first key selects the best checkpoint. */
  evaluate(model: CausalLM, split: 'dev' | 'test'): Metrics;
  higherIsBetter: boolean;
  hasSplit(split: 'dev' | 'test'): boolean;
}

export function prepareData(spec: DataSpec, tok: TextTokenizer): PreparedData {
  if (spec.task) return prepareTask(spec, tok);
  if (!spec.data) throw new ColaError('give training data: --data FILE.jsonl (or .txt), or --task NAME --data-dir DIR');
  const train = readLm(spec.data, tok, spec);
  const dev = spec.devData ? readLm(spec.devData, tok, spec) : [];
  return lmData(train, dev, [], tok);
}

function readLm(file: string, tok: TextTokenizer, spec: DataSpec): LmExample[] {
  if (!fs.existsSync(file)) throw new ColaError(`${file}: file not found`);
  if (file.endsWith('.txt')) return textChunks(readTextCorpus(file), tok, spec.maxLength);
  const ds = loadJsonlDataset(file, tok, { skipBad: spec.skipBad });
  if (ds.skipped) process.stderr.write(`cola: skipped ${ds.skipped} bad line(s) of ${file}\n`);
  if (ds.format === 'classification')
    throw new ColaError(
      `${file}: classification rows ({"prompt","candidates","label"}) train with --task or cola eval; use text, prompt/completion or chat rows here`,
    );
  return ds.lm.map((e) => truncateLmExample(e, spec.maxLength, tok.bosId));
}

/** A plain-text corpus as consecutive windows of maxLength tokens, each starting with BOS. */
export function textChunks(text: string, tok: TextTokenizer, maxLength: number): LmExample[] {
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
export function lmData(train: LmExample[], dev: LmExample[], test: LmExample[], tok: TextTokenizer): PreparedData {
  const pad = tok.eosId ?? 0;
  return {
    kind: 'lm',
    train: lmObjective(train, pad),
    counts: { train: train.length, dev: dev.length, test: test.length },
    evaluate: (model, split) => evaluateLm(model, split === 'dev' ? dev : test, pad),
    higherIsBetter: false,
    hasSplit: (split) => (split === 'dev' ? dev : test).length > 0,
  };
}

function prepareTask(spec: DataSpec, tok: TextTokenizer): PreparedData {
  if (!spec.dataDir) throw new ColaError(`--task ${spec.task} needs --data-dir DIR (the folder holding SST-2/, RTE/, ...)`);
  const task = getTask(spec.task!);
  const data = loadTaskData(task, spec.dataDir, spec.seed, {
    source: spec.source,
    numTrain: spec.numTrain,
    numDev: spec.numDev,
    numEval: spec.numTest,
  });
  const tokenize = (rows: typeof data.train): ClassificationExample[] =>
    rows.map((r) => tokenizeChoice(tok, r, { addBos: tok.bosId !== null }));
  const [train, dev, test] = [tokenize(data.train), tokenize(data.dev), tokenize(data.test)];
  const pad = tok.eosId ?? 0;
  const opts = { maxLen: spec.maxLength, bosId: tok.bosId };
  // MeZO trains COPA LM-style on the gold option; every other task as classification.
  const objective = task.trainAsClassification
    ? classificationObjective(train, pad, spec.maxLength, tok.bosId)
    : lmObjective(
        train.map((e) => truncateLmExample(goldToLm(e, { bosId: tok.bosId }), spec.maxLength, tok.bosId)),
        pad,
      );
  return {
    kind: 'classification',
    train: objective,
    counts: { train: train.length, dev: dev.length, test: test.length },
    evaluate: (model, split) => evaluateClassification(model, split === 'dev' ? dev : test, pad, opts).metrics,
    higherIsBetter: true,
    hasSplit: (split) => (split === 'dev' ? dev : test).length > 0,
  };
}
