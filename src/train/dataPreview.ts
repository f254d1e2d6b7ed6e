/** `cola data --data FILE --model DIR`: how a data file's rows become token sequences,
 * which tokens carry the loss, and how many rows the max length cuts, before a run.
 * The rows go through the same code as training (loadJsonlDataset, textChunks,
 * truncateLmExample), so what this shows is what the trainer sees. */
import { loadJsonlDataset, readTextCorpus, type RowFormat } from '../data/formats.js';
import type { LmExample } from '../data/examples.js';
import { checkMaxLength } from '../data/maxLength.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { truncateLmExample } from '../data/truncate.js';
import { textChunks } from './prepare.js';

export interface FilePreview {
  file: string;
  format: RowFormat | 'txt';
  rows: number;
  skipped: number;
  maxLength: number;
  /** rows longer than maxLength, which lose their first tokens (BOS kept) */
  truncated: number;
  /** tokens after truncation, and those of them with loss */
  tokens: number;
  lossTokens: number;
  /** the first `show` rows as rendered text, loss tokens in [[...]] */
  examples: Array<{ row: number; tokens: number; lossTokens: number; cut: number; marked: string }>;
}

export const LOSS_OPEN = '[[';
export const LOSS_CLOSE = ']]';

/** The tokens of `ex` as text, every run of loss tokens inside [[ ]]. Each run is decoded
 * as the difference of decoded prefixes, so word-boundary spaces come out as in the whole. */
export function markLoss(tok: TextTokenizer, ex: LmExample): string {
  const cuts = [0];
  for (let i = 1; i < ex.ids.length; i++) if (ex.lossMask[i] !== ex.lossMask[i - 1]) cuts.push(i);
  cuts.push(ex.ids.length);
  let out = '';
  let prev = '';
  for (let j = 1; j < cuts.length; j++) {
    const upTo = tok.decode(ex.ids.slice(0, cuts[j]));
    const piece = upTo.startsWith(prev) ? upTo.slice(prev.length) : tok.decode(ex.ids.slice(cuts[j - 1], cuts[j]));
    prev = upTo;
    out += ex.lossMask[cuts[j - 1]!] ? LOSS_OPEN + piece + LOSS_CLOSE : piece;
  }
  return out;
}

export function previewFile(file: string, tok: TextTokenizer, o: { maxLength: number; show: number; skipBad?: boolean }): FilePreview {
  checkMaxLength(o.maxLength);
  let format: FilePreview['format'];
  let examples: LmExample[];
  let skipped = 0;
  if (file.endsWith('.txt')) {
    format = 'txt';
    examples = textChunks(readTextCorpus(file), tok, o.maxLength);
  } else {
    const ds = loadJsonlDataset(file, tok, { skipBad: o.skipBad });
    format = ds.format;
    skipped = ds.skipped;
    // a classification row scores its candidates: show each prompt + candidate, the candidate as the loss
    examples =
      ds.format === 'classification'
        ? ds.classification.map((e) => ({
            ids: e.fullIds[e.label]!,
            lossMask: e.fullIds[e.label]!.map((_, i, a) => (i >= a.length - e.candidateIds[e.label]!.length ? 1 : 0)),
            text: e.texts[e.label]!,
          }))
        : ds.lm;
  }
  const kept = examples.map((e) => truncateLmExample(e, o.maxLength, tok.bosId));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    file,
    format,
    rows: examples.length,
    skipped,
    maxLength: o.maxLength,
    truncated: examples.filter((e) => e.ids.length > o.maxLength).length,
    tokens: sum(kept.map((e) => e.ids.length)),
    lossTokens: sum(kept.map((e) => sum(e.lossMask))),
    examples: kept.slice(0, o.show).map((e, i) => ({
      row: i + 1,
      tokens: e.ids.length,
      lossTokens: sum(e.lossMask),
      cut: examples[i]!.ids.length - e.ids.length,
      marked: markLoss(tok, e),
    })),
  };
}
