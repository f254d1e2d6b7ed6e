/** The tokens-per-sequence limit of a run and what it cuts. MeZO run.py:45 sets
 * max_length = 2048 ("max length the model can take": OPT's context) and left-truncates
 * longer encodings keeping BOS (utils.py:165-170); cola defaults it to the model's own
 * context (config.json max_position_embeddings), which is 2048 for OPT. */
import { ColaError } from '../errors.js';

export interface SplitCounts {
  train: number;
  dev: number;
  test: number;
}

/** Above this fraction of a split truncated, the run is warned (the cut text is lost). */
const TRUNCATION_WARN_FRACTION = 0.01;

/** A limit the truncation (BOS + at least one token) and text windows can work with. */
export function checkMaxLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new ColaError(
      `--max-length must be an integer of at least 2 (a start token and one token to predict), found ${maxLength}; ` +
        'leave it out to use the model context',
    );
  }
}

/** maxLength undefined -> the model's context; longer than the context -> the context, with a warning. */
export function resolveMaxLength(maxLength: number | undefined, contextLength: number, warn: (msg: string) => void): number {
  checkMaxLength(contextLength);
  if (maxLength === undefined) return contextLength;
  checkMaxLength(maxLength);
  if (maxLength <= contextLength) return maxLength;
  warn(`--max-length ${maxLength} is longer than the model's context of ${contextLength} positions; using ${contextLength}`);
  return contextLength;
}

/** Prints how many examples of each split are left-truncated, and warns for each split
 * where that is more than TRUNCATION_WARN_FRACTION of it. */
export function reportTruncation(
  truncated: SplitCounts,
  sizes: SplitCounts,
  limits: { maxLength: number; contextLength: number },
  warn: (msg: string) => void,
): void {
  const splits = ['train', 'dev', 'test'] as const;
  if (splits.every((s) => truncated[s] === 0)) return;
  warn(
    `left-truncated to ${limits.maxLength} tokens (start token kept): ` +
      splits.map((s) => `${s} ${truncated[s]} of ${sizes[s]}`).join(', ') +
      ' examples',
  );
  const fix =
    limits.maxLength < limits.contextLength
      ? `raise --max-length (the model takes up to ${limits.contextLength} tokens)`
      : `that is the model's whole context (${limits.contextLength} tokens)`;
  for (const s of splits) {
    if (sizes[s] > 0 && truncated[s] / sizes[s] > TRUNCATION_WARN_FRACTION) {
      const pct = ((100 * truncated[s]) / sizes[s]).toFixed(1);
      warn(`WARNING: ${pct}% of the ${s} examples lose their first tokens to truncation (more than 1%); ${fix}`);
    }
  }
}
