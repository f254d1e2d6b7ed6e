/** Left truncation that keeps BOS (MeZO utils.py `encode_prompt`: when the tokenizer adds
 * BOS, `encoding[0:1] + encoding[1:][-(max_length-1):]`). Cutting from the left keeps the
 * end of the prompt and the answer tokens, which are what the model is scored on. */
import { ColaError } from '../errors.js';
import type { LmExample } from './examples.js';

/** Indices [from, ids.length) are kept, plus index 0 when `keepFirst`. */
function keptStart(len: number, maxLen: number, keepFirst: boolean): number {
  if (!Number.isInteger(maxLen) || maxLen < (keepFirst ? 2 : 1)) {
    throw new ColaError(`truncate: max length must be an integer >= ${keepFirst ? 2 : 1}, found ${maxLen}; raise --max-length`);
  }
  if (len <= maxLen) return keepFirst ? 1 : 0;
  return keepFirst ? len - (maxLen - 1) : len - maxLen;
}

function cut<T>(xs: T[], from: number, keepFirst: boolean): T[] {
  return keepFirst ? [xs[0], ...xs.slice(from)] : xs.slice(from);
}

/** Left-truncates `ids` to at most `maxLen`, keeping a leading BOS at position 0. */
export function truncateLeft(ids: number[], maxLen: number, bosId: number | null): number[] {
  const keepFirst = bosId !== null && ids.length > 0 && ids[0] === bosId;
  if (ids.length <= maxLen) return ids.slice();
  return cut(ids, keptStart(ids.length, maxLen, keepFirst), keepFirst);
}

/** Same cut on ids and lossMask together. */
export function truncateLmExample(ex: LmExample, maxLen: number, bosId: number | null): LmExample {
  const keepFirst = bosId !== null && ex.ids.length > 0 && ex.ids[0] === bosId;
  if (ex.ids.length <= maxLen) return { ...ex, ids: ex.ids.slice(), lossMask: ex.lossMask.slice() };
  const from = keptStart(ex.ids.length, maxLen, keepFirst);
  return { ...ex, ids: cut(ex.ids, from, keepFirst), lossMask: cut(ex.lossMask, from, keepFirst) };
}
