/** Packed rows (issue 18, --pack): several sequences share one row of the batch. Each
 * token's position restarts at 0 at its sequence's first token, and attention stays
 * inside the sequence: the token at column t sees keys t - positions[t] .. t. So a
 * packed row computes what the sequences would compute in rows of their own. */
import { ColaError } from '../errors.js';

/** keyStart [B*T] for the attention primitive from per-token positions [B*T]: the
 * first key of each token's sequence. Checks that positions fit the model and restart
 * consistently (a position is 0 or the previous one plus 1). */
export function packedKeyStart(positions: Int32Array, batch: number, seq: number, maxPositions: number): Int32Array {
  if (positions.length !== batch * seq) {
    throw new ColaError(`packed positions: ${positions.length} entries for a [${batch}, ${seq}] batch; expected ${batch * seq}`);
  }
  const keyStart = new Int32Array(positions.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const i = b * seq + t;
      const p = positions[i];
      const ok = p === 0 || (t > 0 && p === positions[i - 1] + 1);
      if (!ok || p >= maxPositions) {
        throw new ColaError(
          `packed positions: row ${b} column ${t} has position ${p}; positions restart at 0 and count up by 1, below ${maxPositions}`,
        );
      }
      keyStart[i] = t - p;
    }
  }
  return keyStart;
}

/** Refuses packing together with a KV cache (generation never packs). */
export function checkNoCache(positions: Int32Array | undefined, cache: unknown): void {
  if (positions && cache) throw new ColaError('packed positions cannot be combined with a KV cache');
}
