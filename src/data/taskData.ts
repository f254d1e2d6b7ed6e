/** Loads a task's splits from the original files under the data dir and samples them
 * with the paper's protocol (sampling.ts). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ColaError } from '../errors.js';
import type { RenderedChoice } from './examples.js';
import { carveFromVal, mezoSample, type SampleSizes, type SplitIndices } from './sampling.js';
import { jsonlRows, renderAt, type TaskRow, type TaskSpec } from './tasks/common.js';

/**
 * official: the task's train + val files (MeZO protocol);
 * fewglue:  train = FewGLUE_32dev/<Task>/train.jsonl (32), dev = dev32.jsonl (32), test as official;
 * val:      train/dev/test all carved disjointly out of val.jsonl (BoolQ: --boolq-from-val).
 */
export type DataSource = 'official' | 'fewglue' | 'val';

export interface TaskDataOptions {
  source?: DataSource;
  numTrain?: number;
  /** Default: the task's MeZO dev size (500; CB and COPA 100). */
  numDev?: number;
  numEval?: number;
}

export interface TaskData {
  task: string;
  source: DataSource;
  seed: number;
  train: RenderedChoice[];
  dev: RenderedChoice[];
  test: RenderedChoice[];
  /** Rows available before sampling: train pool (official/fewglue train) and val. */
  available: { train: number; val: number };
}

function readRows(task: TaskSpec, file: string): TaskRow[] {
  if (!existsSync(file)) {
    const hint =
      task.name === 'BoolQ' && file.endsWith('train.jsonl') && !file.includes('FewGLUE')
        ? ' BoolQ has no train split here: pass --boolq-from-val (carve train/dev/test from val.jsonl) or --fewglue (FewGLUE 32 + 32).'
        : ' Check --data-dir (it should hold SST-2/, RTE/, ... as in shared/data/README.md).';
    throw new ColaError(`${task.name}: ${file} not found.${hint}`);
  }
  return (task.readRows ?? jsonlRows)(file);
}

function pick(task: TaskSpec, rows: TaskRow[], idx: number[]): RenderedChoice[] {
  return idx.map((i) => renderAt(task, rows[i]));
}

function sizesFor(task: TaskSpec, opts: TaskDataOptions): SampleSizes {
  return { numTrain: opts.numTrain ?? 1000, numDev: opts.numDev ?? task.numDev, numEval: opts.numEval ?? 1000 };
}

export function loadTaskData(task: TaskSpec, dataDir: string, seed: number, opts: TaskDataOptions = {}): TaskData {
  const source = opts.source ?? 'official';
  const dir = path.join(dataDir, task.dir);
  const val = readRows(task, path.join(dir, task.valFile));
  const sizes = sizesFor(task, opts);
  const base = { task: task.name, source, seed };
  if (source === 'val') {
    const ix: SplitIndices = carveFromVal(val.length, seed, sizes);
    return {
      ...base,
      train: pick(task, val, ix.train),
      dev: pick(task, val, ix.dev),
      test: pick(task, val, ix.test),
      available: { train: 0, val: val.length },
    };
  }
  if (source === 'fewglue') {
    if (!task.hasFewGlue) throw new ColaError(`${task.name} has no FewGLUE split; FewGLUE covers BoolQ, CB, COPA, MultiRC, RTE, WiC, WSC`);
    const few = path.join(dataDir, 'FewGLUE_32dev', task.dir);
    const train = readRows(task, path.join(few, 'train.jsonl'));
    const dev = readRows(task, path.join(few, 'dev32.jsonl'));
    const test = mezoSample(0, val.length, seed, { ...sizes, numTrain: 0, numDev: 0 }).test;
    return {
      ...base,
      train: pick(
        task,
        train,
        train.map((_, i) => i),
      ),
      dev: pick(
        task,
        dev,
        dev.map((_, i) => i),
      ),
      test: pick(task, val, test),
      available: { train: train.length, val: val.length },
    };
  }
  const train = readRows(task, path.join(dir, task.trainFile));
  const ix = mezoSample(train.length, val.length, seed, sizes);
  return {
    ...base,
    train: pick(task, train, ix.train),
    dev: pick(task, train, ix.dev),
    test: pick(task, val, ix.test),
    available: { train: train.length, val: val.length },
  };
}
