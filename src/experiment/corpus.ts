/** A language-modelling corpus split by the tool into train / dev / test for an
 * experiment (metric: held-out perplexity, lower is better): a .txt corpus in windows,
 * or JSONL files read as `cola train --data` reads them (text, prompt/completion, chat
 * rows), split by rows. */
import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { lmData, packing, readLmFiles, type PreparedData } from '../train/prepare.js';

export interface CorpusSplit {
  devFraction: number;
  testFraction: number;
  numTrain?: number;
  numDev?: number;
  numTest?: number;
  maxLength: number;
  skipBad?: boolean;
  pack?: boolean;
  warn?: (msg: string) => void;
}

/** Contiguous blocks, in corpus order: train first, then dev, then test at the end.
 * Windows (rows) never straddle two splits, so no held-out text is seen in training;
 * the split is the same for every seed (the seed only changes the data order). */
export function splitCorpus(file: string, tok: TextTokenizer, o: CorpusSplit): PreparedData {
  for (const f of file.split(',')) if (!fs.existsSync(f.trim())) throw new ColaError(`--data ${f.trim()}: file not found`);
  const warn = o.warn ?? ((msg: string) => process.stderr.write(`cola: ${msg}\n`));
  const read = { maxLength: o.maxLength, skipBad: o.skipBad, pack: o.pack, warn };
  const chunks = readLmFiles(file, tok, read).examples;
  const nTest = Math.round(chunks.length * o.testFraction);
  const nDev = Math.round(chunks.length * o.devFraction);
  const nTrain = chunks.length - nDev - nTest;
  if (nTrain < 1 || nDev < 1 || nTest < 1) {
    throw new ColaError(
      `--data ${file}: ${chunks.length} window(s)/row(s) of up to ${o.maxLength} tokens cannot be split into train/dev/test ` +
        `(${nTrain}/${nDev}/${nTest}); use a longer corpus, a smaller --max-length, or other --dev-fraction/--test-fraction`,
    );
  }
  const train = chunks.slice(0, Math.min(nTrain, o.numTrain ?? nTrain));
  const dev = chunks.slice(nTrain, nTrain + Math.min(nDev, o.numDev ?? nDev));
  const test = chunks.slice(nTrain + nDev, nTrain + nDev + Math.min(nTest, o.numTest ?? nTest));
  return lmData(train, dev, test, tok, undefined, packing(read));
}
