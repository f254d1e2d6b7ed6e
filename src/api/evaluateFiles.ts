/** A model scored on user data files taken whole as one split: `cola eval --data FILE[,FILE]`
 * and the studio page's eval (src/web) share this one path, so the page's reported loss is
 * the one `cola eval` gives for the downloaded adapter. */
import type { ClassificationExample, LmExample } from '../data/examples.js';
import { loadJsonlDataset, readTextCorpus } from '../data/formats.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { truncateLmExample } from '../data/truncate.js';
import { ColaError } from '../errors.js';
import { evaluateClassification, evaluateLm, type Metrics } from '../eval/evaluate.js';
import type { CausalLM } from '../models/causalLM.js';
import { textChunks } from '../train/prepare.js';

export interface EvaluateFilesOptions {
  /** Tokens per .txt window and per JSONL row (longer rows are truncated); at most the
   * model's context. */
  maxLength: number;
  /** Drop bad JSONL lines instead of refusing the file (--skip-bad). */
  skipBad?: boolean;
  /** Told how many bad lines --skip-bad dropped from a file. */
  onSkipped?: (file: string, count: number) => void;
  /** How the files were named, for errors (default: the names joined by commas). */
  label?: string;
}

/** The rows of one file of one kind. */
interface FileRows<T> {
  file: string;
  rows: T[];
}

/** LM rows (text, prompt/completion, chat, .txt windows) are scored by loss, classification
 * rows by accuracy; one call reports one kind, so files mixing the two are refused. */
export function evaluateFiles(model: CausalLM, tok: TextTokenizer, files: readonly string[], opts: EvaluateFilesOptions): Metrics {
  const label = opts.label ?? files.join(',');
  const maxLength = Math.min(opts.maxLength, model.dims.maxPositions);
  const pad = tok.eosId ?? 0;
  const lm: FileRows<LmExample>[] = [];
  const choice: FileRows<ClassificationExample>[] = [];
  for (const file of files) {
    if (file.endsWith('.txt')) {
      lm.push({ file, rows: textChunks(readTextCorpus(file), tok, maxLength) });
      continue;
    }
    const ds = loadJsonlDataset(file, tok, { skipBad: opts.skipBad });
    if (ds.skipped) opts.onSkipped?.(file, ds.skipped);
    if (ds.classification.length) choice.push({ file, rows: ds.classification });
    if (ds.lm.length) lm.push({ file, rows: ds.lm.map((e) => truncateLmExample(e, maxLength, tok.bosId)) });
  }
  if (lm.length && choice.length)
    throw new ColaError(
      `--data ${label}: classification rows (in ${choice.map((c) => c.file).join(', ')}) and LM rows (in ${lm.map((c) => c.file).join(', ')}) ` +
        'give different metrics (accuracy, loss); score them in two cola eval runs',
    );
  if (choice.length)
    return evaluateClassification(
      model,
      choice.flatMap((c) => c.rows),
      pad,
      { maxLen: maxLength, bosId: tok.bosId },
    ).metrics;
  const examples = lm.flatMap((c) => c.rows);
  if (examples.length === 0) throw new ColaError(`${label}: no rows to evaluate`);
  return evaluateLm(model, examples, pad);
}
