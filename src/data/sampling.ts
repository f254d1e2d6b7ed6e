/**
 * The paper's data protocol (MeZO large_models/tasks.py `sample_train_sets`/`sample_subset`
 * and run.py): with numpy's global RNG seeded to the data seed,
 *   pool  = permutation(len(train))[:numTrain + numDev]
 *   dev   = pool[-numDev:],  train = pool[:-numDev]   (dev is the tail, run.py)
 *   test  = permutation(len(val))[:numEval]            (re-seeded with the same seed)
 * So when the train split is smaller than numTrain + numDev (CB, WSC, COPA) train gets
 * whatever is left after dev: WSC 554 rows -> 54 train / 500 dev.
 */
import { ColaError } from '../errors.js';
import { RandomState } from './numpyRandom.js';

export interface SampleSizes {
  numTrain: number;
  numDev: number;
  numEval: number;
}

export interface SplitIndices {
  train: number[];
  dev: number[];
  test: number[];
}

function checkSizes(s: SampleSizes): void {
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 0) throw new ColaError(`sampling: ${k} must be a non-negative integer, found ${v}`);
  }
}

/** MeZO: dev is the last numDev of the sampled pool, train the rest. */
function splitPool(pool: number[], numDev: number, what: string): { train: number[]; dev: number[] } {
  if (pool.length <= numDev && numDev > 0) {
    throw new ColaError(
      `sampling: ${what} has ${pool.length} rows, not more than the ${numDev} dev examples, so no training example would be left; lower --num-dev`,
    );
  }
  return { train: pool.slice(0, pool.length - numDev), dev: pool.slice(pool.length - numDev) };
}

/** Indices into the train and validation splits, exactly as MeZO samples them. */
export function mezoSample(nTrain: number, nVal: number, seed: number, sizes: SampleSizes): SplitIndices {
  checkSizes(sizes);
  const pool = new RandomState(seed).permutation(nTrain).slice(0, sizes.numTrain + sizes.numDev);
  const { train, dev } = splitPool(pool, sizes.numDev, 'the train split');
  const test = new RandomState(seed).permutation(nVal).slice(0, sizes.numEval);
  return { train, dev, test };
}

/**
 * For BoolQ, whose train split is not available here (--boolq-from-val): one seeded
 * permutation of the validation split; test = its first numEval, then train/dev are
 * sampled from the rest as MeZO samples from train. All three are disjoint. Results
 * from this split are NOT comparable to published BoolQ numbers: say so in reports.
 */
export function carveFromVal(nVal: number, seed: number, sizes: SampleSizes): SplitIndices {
  checkSizes(sizes);
  const perm = new RandomState(seed).permutation(nVal);
  const test = perm.slice(0, Math.min(sizes.numEval, Math.max(0, nVal - sizes.numDev - 1)));
  const pool = perm.slice(test.length, test.length + sizes.numTrain + sizes.numDev);
  const { train, dev } = splitPool(pool, sizes.numDev, 'what is left of the validation split after the test set');
  return { train, dev, test };
}
