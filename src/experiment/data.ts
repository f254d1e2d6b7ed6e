/** What each experiment task trains and is scored on: one of the paper's
 * classification tasks (accuracy; CB also macro-F1) or a text corpus the tool splits
 * itself (perplexity). */
import * as path from 'node:path';
import type { OptionValues } from '../cli/options.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { getTask } from '../data/tasks/registry.js';
import { ColaError } from '../errors.js';
import { prepareData, type PrepareContext, type PreparedData } from '../train/prepare.js';
import { splitCorpus } from './corpus.js';

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
export function taskRefs(v: OptionValues, problems: string[]): TaskRef[] {
  const refs: TaskRef[] = [];
  for (const name of (v['task'] as string[] | undefined) ?? []) {
    try {
      refs.push({ name: getTask(name).name });
    } catch (e) {
      problems.push(`--task: ${(e as Error).message}`);
    }
  }
  if (refs.length && !v['data-dir']) problems.push('--task needs --data-dir DIR (the folder holding SST-2/, RTE/, ...)');
  const corpus = v['data'] as string | undefined;
  if (corpus !== undefined) {
    if (!corpus.endsWith('.txt'))
      problems.push(`--data ${corpus}: an experiment's corpus is a plain .txt file (split into train/dev/test by the tool)`);
    refs.push({ name: path.basename(corpus, '.txt'), corpus });
  }
  const dup = refs.map((r) => r.name).filter((n, i, all) => all.indexOf(n) !== i);
  if (dup.length) problems.push(`tasks named twice: ${[...new Set(dup)].join(', ')}`);
  if (refs.length === 0) problems.push('give --task NAME[,NAME...] with --data-dir DIR, and/or --data CORPUS.txt');
  return refs;
}

/** Everything about the data that decides a cell's result (for the resume check). */
export function dataSettings(ref: TaskRef, v: OptionValues, dataSeed: number, maxLength: number): Record<string, unknown> {
  const common = { numTrain: v['num-train'], numDev: v['num-dev'], numTest: v['num-test'], maxLength };
  if (ref.corpus) return { corpus: path.resolve(ref.corpus), devFraction: v['dev-fraction'], testFraction: v['test-fraction'], ...common };
  const source = v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined;
  return { task: ref.name, dataDir: path.resolve(v['data-dir'] as string), source, dataSeed, ...common };
}

export function prepareTaskData(
  ref: TaskRef,
  v: OptionValues,
  dataSeed: number,
  tok: TextTokenizer,
  maxLength: number,
  model: PrepareContext,
): PreparedData {
  const split = {
    numTrain: v['num-train'] as number | undefined,
    numDev: v['num-dev'] as number | undefined,
    numTest: v['num-test'] as number | undefined,
  };
  const data = ref.corpus
    ? splitCorpus(ref.corpus, tok, {
        devFraction: v['dev-fraction'] as number,
        testFraction: v['test-fraction'] as number,
        maxLength,
        ...split,
      })
    : prepareData(
        {
          task: ref.name,
          dataDir: v['data-dir'] as string,
          source: v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined,
          seed: dataSeed,
          maxLength,
          skipBad: v['skip-bad'] as boolean | undefined,
          ...split,
        },
        tok,
        model,
      );
  // Selection needs dev and reporting needs test: a grid without them measures nothing.
  const missing = (['dev', 'test'] as const).filter((s) => !data.hasSplit(s));
  if (missing.length) throw new ColaError(`${ref.name}: the ${missing.join(' and ')} split(s) are empty; raise --num-dev/--num-test`);
  return data;
}
