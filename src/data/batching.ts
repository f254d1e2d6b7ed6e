/**
 * Batching. Order: a seeded permutation per epoch, cut into windows of `window` batches;
 * within a window examples are sorted by length and cut into batches (little padding),
 * then the batch order is shuffled. Same seed and epoch -> same batches; every example
 * appears exactly once per epoch. Padding is on the right: with a causal mask the real
 * tokens never see it, and positions stay 0..len-1 (MeZO pads left but uses HF attention
 * masks and position ids for that; right padding needs neither).
 */
import { ColaError } from '../errors.js';
import type { ClassificationExample, LmExample } from './examples.js';
import { RandomState } from './numpyRandom.js';
import { truncateLeft } from './truncate.js';

/** Target value the loss ignores (PyTorch's ignore_index convention). */
export const IGNORE = -100;

export interface OrderOptions {
  batchSize: number;
  seed?: number;
  epoch?: number;
  /** false: keep the given order (evaluation); windows are still length-sorted. */
  shuffle?: boolean;
  /** Batches per length-sorting window (default 16); 1 = no length grouping. */
  window?: number;
}

function epochSeed(seed: number, epoch: number): number {
  // Distinct, reproducible stream per (seed, epoch); golden-ratio mixing spreads epochs apart.
  return (Math.imul(epoch + 1, 0x9e3779b1) ^ seed) >>> 0;
}

/** Groups example indices into batches for one epoch. */
export function batchOrder(lengths: number[], opts: OrderOptions): number[][] {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ColaError(`batch size must be a positive integer, found ${batchSize}; fix --batch-size`);
  const shuffle = opts.shuffle ?? true;
  const rs = new RandomState(epochSeed(opts.seed ?? 0, opts.epoch ?? 0));
  const order = shuffle ? rs.permutation(lengths.length) : lengths.map((_, i) => i);
  const span = batchSize * Math.max(1, opts.window ?? 16);
  const batches: number[][] = [];
  for (let w = 0; w < order.length; w += span) {
    const win = order.slice(w, w + span).sort((a, b) => lengths[b] - lengths[a] || a - b);
    for (let b = 0; b < win.length; b += batchSize) batches.push(win.slice(b, b + batchSize));
  }
  return shuffle ? rs.shuffle(batches) : batches;
}

export interface LmBatch {
  /** [batch * seqLen], right-padded with padId. */
  inputIds: Int32Array;
  /** [batch * seqLen]: targets[t] = ids[t+1] where lossMask[t+1] = 1, else IGNORE. */
  targets: Int32Array;
  /** Real (unpadded) length of each row. */
  lengths: Int32Array;
  batch: number;
  seqLen: number;
}

export function collateLm(examples: LmExample[], padId: number): LmBatch {
  if (examples.length === 0) throw new ColaError('collateLm: empty batch');
  const batch = examples.length;
  const seqLen = Math.max(...examples.map((e) => e.ids.length));
  const inputIds = new Int32Array(batch * seqLen).fill(padId);
  const targets = new Int32Array(batch * seqLen).fill(IGNORE);
  const lengths = new Int32Array(batch);
  examples.forEach((e, b) => {
    if (e.ids.length !== e.lossMask.length)
      throw new ColaError(`collateLm: example ${b} has ${e.ids.length} ids but ${e.lossMask.length} loss-mask entries`);
    lengths[b] = e.ids.length;
    const row = b * seqLen;
    for (let t = 0; t < e.ids.length; t++) {
      inputIds[row + t] = e.ids[t];
      if (t + 1 < e.ids.length && e.lossMask[t + 1] === 1) targets[row + t] = e.ids[t + 1];
    }
  });
  return { inputIds, targets, lengths, batch, seqLen };
}

export interface ClassificationBatch {
  /** [numSeqs * seqLen]: one row per (example, candidate), right-padded. */
  inputIds: Int32Array;
  /** IGNORE except at the positions predicting option tokens: targets[p-1] = ids[p]. */
  targets: Int32Array;
  lengths: Int32Array;
  /** First option token position and option token count, per row. Score of a row =
   * mean over p in [optionStart, optionStart+optionLen) of log P(ids[p] | ids[<p]). */
  optionStart: Int32Array;
  optionLen: Int32Array;
  /** Example (0..batch-1) and candidate index of each row. */
  exampleOf: Int32Array;
  candidateOf: Int32Array;
  /** Rows of example e are rowStart[e] .. rowStart[e] + numCandidates[e] - 1. */
  rowStart: Int32Array;
  numCandidates: Int32Array;
  labels: Int32Array;
  batch: number;
  numSeqs: number;
  seqLen: number;
}

interface Row {
  ids: number[];
  optionLen: number;
  e: number;
  c: number;
}

function buildRows(examples: ClassificationExample[], maxLen: number, bosId: number | null): Row[] {
  const rows: Row[] = [];
  examples.forEach((ex, e) =>
    ex.candidateIds.forEach((cand, c) => {
      const ids = truncateLeft(ex.fullIds[c], maxLen, bosId);
      if (cand.length >= ids.length) {
        throw new ColaError(
          `classification example ${e}: candidate ${c} has ${cand.length} tokens, no room for the prompt within max length ${maxLen}; raise --max-length`,
        );
      }
      rows.push({ ids, optionLen: cand.length, e, c });
    }),
  );
  return rows;
}

/** One row per (example, candidate): its full encoding, left-truncated to maxLen keeping BOS;
 * the last candidateIds[c].length tokens are the option. */
export function collateClassification(
  examples: ClassificationExample[],
  padId: number,
  opts: { maxLen: number; bosId: number | null },
): ClassificationBatch {
  if (examples.length === 0) throw new ColaError('collateClassification: empty batch');
  const rows = buildRows(examples, opts.maxLen, opts.bosId);
  const numSeqs = rows.length;
  const seqLen = Math.max(...rows.map((r) => r.ids.length));
  const out: ClassificationBatch = {
    inputIds: new Int32Array(numSeqs * seqLen).fill(padId),
    targets: new Int32Array(numSeqs * seqLen).fill(IGNORE),
    lengths: new Int32Array(numSeqs),
    optionStart: new Int32Array(numSeqs),
    optionLen: new Int32Array(numSeqs),
    exampleOf: new Int32Array(numSeqs),
    candidateOf: new Int32Array(numSeqs),
    rowStart: new Int32Array(examples.length),
    numCandidates: new Int32Array(examples.map((x) => x.candidateIds.length)),
    labels: new Int32Array(examples.map((x) => x.label)),
    batch: examples.length,
    numSeqs,
    seqLen,
  };
  rows.forEach((r, s) => {
    const base = s * seqLen;
    out.inputIds.set(r.ids, base);
    out.lengths[s] = r.ids.length;
    out.optionStart[s] = r.ids.length - r.optionLen;
    out.optionLen[s] = r.optionLen;
    out.exampleOf[s] = r.e;
    out.candidateOf[s] = r.c;
    if (r.c === 0) out.rowStart[r.e] = s;
    for (let p = r.ids.length - r.optionLen; p < r.ids.length; p++) out.targets[base + p - 1] = r.ids[p];
  });
  return out;
}

/** Data parallelism (issue 19): every rank computes the same global batch and takes rows
 * [floor(rank*B/N), floor((rank+1)*B/N)) of it, so the N slices partition the batch in
 * order (a rank's slice may be empty when B < N). */
export function rankSlice<T>(batch: readonly T[], rank: number, size: number): T[] {
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(rank) || rank < 0 || rank >= size)
    throw new ColaError(`rankSlice: rank ${rank} of ${size} is not a rank of the job`);
  const b = batch.length;
  return batch.slice(Math.floor((rank * b) / size), Math.floor(((rank + 1) * b) / size));
}
