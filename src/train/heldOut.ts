/** A corpus split by the tool into train / dev / test (`cola experiment --data`): the
 * rows (a .txt corpus's windows, a JSONL file's rows) in contiguous blocks, in corpus
 * order: train first, then dev, then test at the end. A row never straddles two splits,
 * so no held-out text is seen in training, and the split is the same for every seed (the
 * seed only changes the data order). Recorded in a run's config.json as `run.data.heldOut`,
 * so `cola eval --run` rebuilds the same dev and test. */
import { ColaError } from '../errors.js';

export interface HeldOut {
  /** share of the rows held out as dev (taken after train) */
  devFraction: number;
  /** share of the rows held out as test (the end of the corpus) */
  testFraction: number;
}

export interface HeldOutSplits<T> {
  train: T[];
  dev: T[];
  test: T[];
}

/** `rows` split by `h`, each split then cut to its num* (the first rows of its block). */
export function splitHeldOut<T>(
  rows: T[],
  h: HeldOut,
  o: { numTrain?: number; numDev?: number; numTest?: number; maxLength: number; what: string },
): HeldOutSplits<T> {
  const share = (x: unknown): boolean => typeof x === 'number' && x > 0 && x < 1;
  if (!share(h.devFraction) || !share(h.testFraction) || h.devFraction + h.testFraction >= 1)
    throw new ColaError(
      `${o.what}: held-out fractions dev ${String(h.devFraction)} and test ${String(h.testFraction)} must each be in (0, 1) and sum to less than 1`,
    );
  const nTest = Math.round(rows.length * h.testFraction);
  const nDev = Math.round(rows.length * h.devFraction);
  const nTrain = rows.length - nDev - nTest;
  if (nTrain < 1 || nDev < 1 || nTest < 1) {
    throw new ColaError(
      `${o.what}: ${rows.length} window(s)/row(s) of up to ${o.maxLength} tokens cannot be split into train/dev/test ` +
        `(${nTrain}/${nDev}/${nTest}); use a longer corpus, a smaller --max-length, or other --dev-fraction/--test-fraction`,
    );
  }
  return {
    train: rows.slice(0, Math.min(nTrain, o.numTrain ?? nTrain)),
    dev: rows.slice(nTrain, nTrain + Math.min(nDev, o.numDev ?? nDev)),
    test: rows.slice(nTrain + nDev, nTrain + nDev + Math.min(nTest, o.numTest ?? nTest)),
  };
}
