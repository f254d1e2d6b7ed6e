// The page's eval: the trained model scored on the whole data file by the same code as
// `cola eval --data FILE --max-length L` (api/evaluateFiles.ts: .txt as windows of L tokens,
// JSONL rows truncated to L), so the test can check the downloaded adapter gives the loss
// the page reported.
import { evaluateFiles } from '../api/evaluateFiles.js';
import { loadJsonlDataset } from '../data/formats.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import type { Metrics } from '../eval/evaluate.js';
import type { CausalLM } from '../models/causalLM.js';

/** Refuses, before any training, a file the page cannot train on (classification rows:
 * fineTune refuses them too, later). */
export function checkDataFile(tok: TextTokenizer, file: string): void {
  if (!file.endsWith('.txt') && loadJsonlDataset(file, tok).classification.length > 0)
    throw new ColaError(
      `${file}: classification rows; the studio fine-tunes on text (a .txt file or JSONL with "text", "prompt"/"completion" or "messages"); use cola train for tasks`,
    );
}

export function evaluateDataFile(model: CausalLM, tok: TextTokenizer, file: string, maxLength: number): Metrics {
  return evaluateFiles(model, tok, [file], { maxLength });
}
