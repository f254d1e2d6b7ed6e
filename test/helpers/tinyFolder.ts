import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { randomWeights, tinyVocab, writeTokenizerBin, writeV0, type TinyDims } from '../io/llama2cFixtures.js';

/** A complete tiny model folder (config.json, model.safetensors, tokenizer.json)
 * built from a random llama2.c model and a 294-piece byte-fallback vocab. */
export function tinyModelFolder(seed = 1, dims: Partial<TinyDims> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-tiny-'));
  const { pieces, scores } = tinyVocab();
  const d: TinyDims = { dim: 16, hiddenDim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: pieces.length, seqLen: 64, ...dims };
  writeV0(path.join(dir, 'model.bin'), d, randomWeights(d, true, seed));
  writeTokenizerBin(path.join(dir, 'tok.bin'), pieces, scores);
  convertLlama2c(path.join(dir, 'model.bin'), path.join(dir, 'tok.bin'), path.join(dir, 'model'));
  return path.join(dir, 'model');
}

/** A small text corpus the tiny vocab encodes. */
export function tinyCorpus(dir: string, lines = 40): string {
  const words = ['the cat sat on the mat.', 'hello the cat.', 'a cat sat.', 'The mat sat on a cat.', 'he sat on the hat.'];
  const file = path.join(dir, 'corpus.txt');
  fs.writeFileSync(file, Array.from({ length: lines }, (_, i) => words[i % words.length]).join('\n'));
  return file;
}
