/**
 * Sequence packing (`--pack`, issue 18): short examples concatenated into sequences of
 * up to `capacity` tokens, so a batch holds few padding tokens. Each example keeps its
 * own positions (restarting at 0) and attends only to itself (the model's packed
 * positions, src/models/packedPositions.ts), and its targets never cross into the next
 * example, so a packed batch computes the same per-token losses as the same examples
 * in rows of their own: packing changes throughput, not the loss.
 *
 * The packs are made once, before training, by first-fit decreasing (longest example
 * first, into the first pack with room; ties by index): deterministic, so a resumed run
 * rebuilds the same packs and the same data order. The trainer then shuffles and batches
 * packs as it would examples: an epoch is ceil(packs / batch size) micro-batches.
 */
import { ColaError } from '../errors.js';
import { IGNORE, type LmBatch } from './batching.js';
import type { LmExample } from './examples.js';

/** Example indices per pack, each pack's total length at most `capacity`. */
export function packExamples(lengths: readonly number[], capacity: number): number[][] {
  if (!Number.isInteger(capacity) || capacity < 2) throw new ColaError(`packing: capacity must be an integer >= 2, got ${capacity}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const packs: number[][] = [];
  const room: number[] = [];
  // Packs with less room than the shortest example never take another one: `open`
  // skips them, so the scan stays short on large datasets.
  const shortest = order.length ? lengths[order[order.length - 1]!]! : 0;
  let open = 0;
  for (const i of order) {
    const n = lengths[i]!;
    if (n > capacity) throw new ColaError(`packing: example ${i} has ${n} tokens, more than the ${capacity} of a packed sequence`);
    let p = open;
    while (p < packs.length && room[p]! < n) p++;
    if (p === packs.length) {
      packs.push([]);
      room.push(capacity);
    }
    packs[p]!.push(i);
    room[p]! -= n;
    while (open < packs.length && room[open]! < shortest) open++;
  }
  return packs;
}

/** A packed batch: LmBatch rows holding several examples, with each token's position
 * within its own example ([batch * seqLen]; padding continues the last example). */
export interface PackedLmBatch extends LmBatch {
  positions: Int32Array;
  /** Examples per row. */
  examplesPerRow: Int32Array;
}

/** Collates packs (each a list of examples) into right-padded rows. */
export function collatePacked(packs: LmExample[][], padId: number): PackedLmBatch {
  if (packs.length === 0) throw new ColaError('collatePacked: empty batch');
  const batch = packs.length;
  const lengthOf = (p: LmExample[]) => p.reduce((s, e) => s + e.ids.length, 0);
  const seqLen = Math.max(...packs.map(lengthOf));
  const inputIds = new Int32Array(batch * seqLen).fill(padId);
  const targets = new Int32Array(batch * seqLen).fill(IGNORE);
  const positions = new Int32Array(batch * seqLen);
  const lengths = new Int32Array(batch);
  const examplesPerRow = new Int32Array(packs.map((p) => p.length));
  packs.forEach((pack, b) => {
    let t = b * seqLen;
    for (const e of pack) {
      if (e.ids.length !== e.lossMask.length)
        throw new ColaError(`collatePacked: an example has ${e.ids.length} ids but ${e.lossMask.length} loss-mask entries`);
      for (let j = 0; j < e.ids.length; j++, t++) {
        inputIds[t] = e.ids[j]!;
        positions[t] = j;
        // within the example only: its last token predicts nothing
        if (j + 1 < e.ids.length && e.lossMask[j + 1] === 1) targets[t] = e.ids[j + 1]!;
      }
    }
    lengths[b] = t - b * seqLen;
    for (let p = positions[t - 1]! + 1; t < (b + 1) * seqLen; t++, p++) positions[t] = p;
  });
  return { inputIds, targets, positions, lengths, examplesPerRow, batch, seqLen };
}

/** How well packs fill their sequences (for `cola data --pack` and the run log). */
export interface PackStats {
  examples: number;
  packs: number;
  capacity: number;
  /** examples per packed sequence: mean and max */
  meanPerPack: number;
  maxPerPack: number;
  /** real tokens / (packs * capacity) */
  fill: number;
}

export function packStats(lengths: readonly number[], packs: readonly number[][], capacity: number): PackStats {
  const tokens = lengths.reduce((s, n) => s + n, 0);
  return {
    examples: lengths.length,
    packs: packs.length,
    capacity,
    meanPerPack: packs.length ? lengths.length / packs.length : 0,
    maxPerPack: Math.max(0, ...packs.map((p) => p.length)),
    fill: packs.length ? tokens / (packs.length * capacity) : 0,
  };
}
