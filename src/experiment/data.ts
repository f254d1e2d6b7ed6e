/** What each experiment task trains and is scored on: one of the paper's
 * classification tasks (accuracy; CB also macro-F1) or a text corpus the tool splits
 * itself (perplexity). */
import * as path from 'node:path';
import type { TextTokenizer } from '../data/tokenizer.js';
import { getTask } from '../data/tasks/registry.js';
import { ColaError } from '../errors.js';
import { prepareData, type PrepareContext, type PreparedData } from '../train/prepare.js';
import type { DataFlags } from '../cola/runFlags.js';
import { absoluteDataFiles } from '../data/formats.js';
import type { DataConfig } from '../cola/runConfig.js';
import type { ExperimentConfig, ExperimentFlags } from './flags.js';

export interface TaskRef {
  /** The name in tables and folders: the task's canonical name, or the corpus file's stem. */
  name: string;
  /** A .txt corpus for a language-modelling task; absent for the paper's tasks. */
  corpus?: string;
}

/** The metric a task is reported by, and the extra ones shown beside it. */
export function reportMetrics(ref: TaskRef): { metric: string; extra: string[] } {
  if (ref.corpus) return { metric: 'perplexity', extra: [] };
  // SuperGLUE scores CB by accuracy and macro-F1 (its classes are heavily skewed).
  return { metric: 'accuracy', extra: ref.name.toLowerCase() === 'cb' ? ['macro_f1'] : [] };
}

/** The tasks of --task and --data, problems appended to `problems`. */
export function taskRefs(exp: ExperimentFlags, data: DataFlags, problems: string[]): TaskRef[] {
  const refs: TaskRef[] = [];
  for (const name of exp.task ?? []) {
    try {
      refs.push({ name: getTask(name).name });
    } catch (e) {
      problems.push(`--task: ${(e as Error).message}`);
    }
  }
  if (refs.length && !data.dataDir) problems.push('--task needs --data-dir DIR (the folder holding SST-2/, RTE/, ...)');
  const corpus = exp.data;
  if (corpus !== undefined) {
    const files = corpus.split(',').map((f) => f.trim());
    const bad = files.filter((f) => !f.endsWith('.txt') && !f.endsWith('.jsonl'));
    if (bad.length)
      problems.push(`--data ${bad.join(',')}: an experiment's corpus is .txt or .jsonl files (split into train/dev/test by the tool)`);
    refs.push({ name: files.map((f) => path.basename(f, path.extname(f))).join('+'), corpus });
  }
  const dup = refs.map((r) => r.name).filter((n, i, all) => all.indexOf(n) !== i);
  if (dup.length) problems.push(`tasks named twice: ${[...new Set(dup)].join(', ')}`);
  if (refs.length === 0) problems.push('give --task NAME[,NAME...] with --data-dir DIR, and/or --data CORPUS.txt');
  return refs;
}

const sourceOf = (d: DataFlags) => (d.boolqFromVal ? ('val' as const) : d.fewglue ? ('fewglue' as const) : undefined);

/** Everything about the data that decides a cell's result (for the resume check). */
export function dataSettings(ref: TaskRef, c: ExperimentConfig, dataSeed: number, maxLength: number): Record<string, unknown> {
  const d = c.data;
  const common = { numTrain: d.numTrain, numDev: d.numDev, numTest: d.numTest, maxLength, ...(d.pack ? { pack: true } : {}) };
  const corpus = ref.corpus === undefined ? undefined : absoluteDataFiles(ref.corpus);
  if (corpus) return { corpus, devFraction: c.exp.devFraction, testFraction: c.exp.testFraction, ...common };
  return { task: ref.name, dataDir: path.resolve(d.dataDir!), source: sourceOf(d), dataSeed, ...common };
}

/** The cell's data as a run records it (config.json's `run.data`, the shape `cola train`
 * writes): the task and its sampling, or the corpus and its held-out split. `cola eval
 * --run CELL` and prepareTaskData read this one spec, so a replay scores the same splits.
 * maxLength is --max-length as given (prepareData caps it at the model's context). */
export function cellData(ref: TaskRef, c: ExperimentConfig, dataSeed: number): DataConfig {
  const d = c.data;
  const common = { seed: dataSeed, numTrain: d.numTrain, numDev: d.numDev, numTest: d.numTest, maxLength: d.maxLength, pack: d.pack };
  if (ref.corpus) {
    const data = absoluteDataFiles(ref.corpus);
    const heldOut = { devFraction: c.exp.devFraction, testFraction: c.exp.testFraction };
    return { data, heldOut, skipBad: d.skipBad, ...common };
  }
  // the paper's task files are read whole: --skip-bad is the corpus's only (cola train refuses it with --task)
  return { task: ref.name, dataDir: d.dataDir!, source: sourceOf(d), skipBad: false, ...common };
}

export function prepareTaskData(
  ref: TaskRef,
  c: ExperimentConfig,
  dataSeed: number,
  tok: TextTokenizer,
  maxLength: number,
  model: PrepareContext,
): PreparedData {
  const data = prepareData({ ...cellData(ref, c, dataSeed), maxLength }, tok, model);
  // Selection needs dev and reporting needs test: a grid without them measures nothing.
  const missing = (['dev', 'test'] as const).filter((s) => !data.hasSplit(s));
  if (missing.length) throw new ColaError(`${ref.name}: the ${missing.join(' and ')} split(s) are empty; raise --num-dev/--num-test`);
  return data;
}
