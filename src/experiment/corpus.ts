/** A plain-text corpus split by the tool into train / dev / test for a language-
 * modelling experiment (metric: held-out perplexity, lower is better). */
import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { lmData, textChunks, type PreparedData } from '../train/prepare.js';

export interface CorpusSplit {
  devFraction: number;
  testFraction: number;
  numTrain?: number;
  numDev?: number;
  numTest?: number;
  maxLength: number;
}

/** Contiguous blocks, in corpus order: train first, then dev, then test at the end.
 * Windows never straddle two splits, so no held-out text is seen in training; the
 * split is the same for every seed (the seed only changes the data order). */
export function splitCorpus(file: string, tok: TextTokenizer, o: CorpusSplit): PreparedData {
  if (!fs.existsSync(file)) throw new ColaError(`--data ${file}: file not found`);
  const chunks = textChunks(fs.readFileSync(file, 'utf8'), tok, o.maxLength);
  const nTest = Math.round(chunks.length * o.testFraction);
  const nDev = Math.round(chunks.length * o.devFraction);
  const nTrain = chunks.length - nDev - nTest;
  if (nTrain < 1 || nDev < 1 || nTest < 1) {
    throw new ColaError(
      `--data ${file}: ${chunks.length} window(s) of ${o.maxLength} tokens cannot be split into train/dev/test ` +
        `(${nTrain}/${nDev}/${nTest}); use a longer corpus, a smaller --max-length, or other --dev-fraction/--test-fraction`,
    );
  }
  const train = chunks.slice(0, Math.min(nTrain, o.numTrain ?? nTrain));
  const dev = chunks.slice(nTrain, nTrain + Math.min(nDev, o.numDev ?? nDev));
  const test = chunks.slice(nTrain + nDev, nTrain + nDev + Math.min(nTest, o.numTest ?? nTest));
  return lmData(train, dev, test, tok);
}
