// The page's eval: the trained model scored on the whole data file, as
// `cola eval --data FILE --max-length L` scores a language-modelling file (cli/commands/eval.ts
// evalFile: .txt as windows of L tokens, JSONL rows truncated to L), so the test can check
// the downloaded adapter gives the loss the page reported.
import { loadJsonlDataset, readTextCorpus } from '../data/formats.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { truncateLmExample } from '../data/truncate.js';
import { ColaError } from '../errors.js';
import { evaluateLm, type Metrics } from '../eval/evaluate.js';
import type { CausalLM } from '../models/causalLM.js';
import { textChunks } from '../train/prepare.js';

/** Refuses, before any training, a file the page cannot score (classification rows). */
export function checkDataFile(tok: TextTokenizer, file: string): void {
  if (!file.endsWith('.txt') && loadJsonlDataset(file, tok).format === 'classification') throw classification(file);
}

function classification(file: string): ColaError {
  return new ColaError(
    `${file}: classification rows; the studio fine-tunes on text (a .txt file or JSONL with "text", "prompt"/"completion" or "messages"); use cola train for tasks`,
  );
}

export function evaluateDataFile(model: CausalLM, tok: TextTokenizer, file: string, maxLength: number): Metrics {
  const pad = tok.eosId ?? 0;
  const length = Math.min(maxLength, model.dims.maxPositions);
  if (file.endsWith('.txt')) return evaluateLm(model, textChunks(readTextCorpus(file), tok, length), pad);
  const ds = loadJsonlDataset(file, tok);
  if (ds.format === 'classification') throw classification(file);
  return evaluateLm(
    model,
    ds.lm.map((e) => truncateLmExample(e, length, tok.bosId)),
    pad,
  );
}
