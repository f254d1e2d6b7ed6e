// Scaled-dot-product attention with grouped-query heads, an optional causal mask,
// sliding window, logit soft-capping (Gemma 2) and an optional per-query first key
// (keyStart: packed sequences, issue 18).
// Forward stores each query row's logsumexp; backward recomputes the probabilities
// from it instead of storing the [Tq, Tk] matrix (as FlashAttention does).

import type { AttentionShape, Backend } from '../backend.js';

/** Offsets and visibility shared by forward and backward. */
function layout(args: AttentionShape) {
  const { batch, headsQ, headsKv, seqQ, seqKv, headDim, causal, window, keyStart } = args;
  if (headsQ % headsKv !== 0) {
    throw new RangeError(`attention: headsQ (${headsQ}) must be a multiple of headsKv (${headsKv})`);
  }
  if (window !== undefined && !(Number.isInteger(window) && window > 0 && causal)) {
    throw new RangeError(`attention: window must be a positive integer and needs causal, got ${window}`);
  }
  if (args.softcap !== undefined && !(args.softcap > 0)) throw new RangeError(`attention: softcap must be > 0, got ${args.softcap}`);
  if (keyStart) checkKeyStart(keyStart, batch * seqQ, seqKv);
  const group = headsQ / headsKv;
  const bthd = args.layout === 'bthd';
  return {
    heads: batch * headsQ,
    /** offset of query row i of flat head bh = b * Hq + h in q/out */
    qRow: (bh: number, i: number) => {
      if (!bthd) return (bh * seqQ + i) * headDim; // [B, Hq, Tq, D]
      const b = Math.floor(bh / headsQ);
      return ((b * seqQ + i) * headsQ + (bh % headsQ)) * headDim; // [B, Tq, Hq, D]
    },
    /** offset of key row j for flat query head bh in k/v */
    kvRow: (bh: number, j: number) => {
      const b = Math.floor(bh / headsQ);
      const kvHead = Math.floor((bh % headsQ) / group);
      return bthd ? ((b * seqKv + j) * headsKv + kvHead) * headDim : ((b * headsKv + kvHead) * seqKv + j) * headDim;
    },
    /** keys 0..visible(i)-1 are seen by query i (absolute position seqKv - seqQ + i) */
    visible: (i: number) => (causal ? Math.max(0, Math.min(seqKv, seqKv - seqQ + i + 1)) : seqKv),
    /** the first key query i of flat head bh sees: keyStart's (packed rows), and a
     * sliding window hides keys at positions <= p - window */
    first: (bh: number, i: number) =>
      Math.max(
        keyStart ? keyStart[Math.floor(bh / headsQ) * seqQ + i]! : 0,
        window === undefined ? 0 : Math.max(0, seqKv - seqQ + i - window + 1),
      ),
  };
}

function checkKeyStart(keyStart: Int32Array, n: number, seqKv: number): void {
  if (keyStart.length !== n) throw new RangeError(`attention: keyStart has ${keyStart.length} entries, expected batch * seqQ = ${n}`);
  for (const s of keyStart) if (s < 0 || s > seqKv) throw new RangeError(`attention: keyStart ${s} is outside 0..${seqKv}`);
}

function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): number {
  let sum = 0;
  for (let d = 0; d < n; d++) sum += x[xo + d] * y[yo + d];
  return sum;
}

/** scale * q_i . k_j (soft-capped) for the keys first..count-1 of one query row
 * (entries before `first` stay 0 and are never read). */
function scores(
  q: Float32Array,
  k: Float32Array,
  qo: number,
  bh: number,
  first: number,
  count: number,
  args: AttentionShape,
  kvRow: (bh: number, j: number) => number,
) {
  const s = new Float64Array(count);
  const cap = args.softcap;
  for (let j = first; j < count; j++) {
    const raw = args.scale * dot(q, qo, k, kvRow(bh, j), args.headDim);
    s[j] = cap === undefined ? raw : cap * Math.tanh(raw / cap);
  }
  return s;
}

export const attention: Backend['attention'] = (args) => {
  const { q, k, v, out, lse } = args;
  const D = args.headDim;
  const { heads, qRow, kvRow, visible, first } = layout(args);
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < args.seqQ; i++) {
      const qo = qRow(bh, i);
      const count = visible(i);
      const lo = Math.min(first(bh, i), count);
      const s = scores(q, k, qo, bh, lo, count, args, kvRow); // [count]
      let max = -Infinity;
      for (let j = lo; j < count; j++) max = Math.max(max, s[j]);
      let sum = 0;
      for (let j = lo; j < count; j++) sum += Math.exp(s[j] - max);
      // A query that sees no key (seqQ > seqKv, or keyStart past it) outputs zeros, lse -inf.
      const rowLse = count === lo ? -Infinity : max + Math.log(sum);
      lse[bh * args.seqQ + i] = rowLse;
      const acc = new Float64Array(D);
      for (let j = lo; j < count; j++) {
        const p = Math.exp(s[j] - rowLse);
        const vo = kvRow(bh, j);
        for (let d = 0; d < D; d++) acc[d] += p * v[vo + d];
      }
      for (let d = 0; d < D; d++) out[qo + d] = acc[d];
    }
  }
};

// With p_j = exp(s_j - lse) and dp_j = dOut . v_j:
//   ds_j = p_j (dp_j - Δ), Δ = Σ_j p_j dp_j = dOut . out  (FlashAttention-2's rowsum)
//   dq += scale Σ_j ds_j k_j,  dk_j += scale ds_j q,  dv_j += p_j dOut.
// Soft-capping s_j = c tanh(r_j / c) multiplies ds_j by ds/dr = 1 - (s_j / c)^2.
export const attentionBackward: Backend['attentionBackward'] = (args) => {
  const { q, k, v, out, lse, dOut, dq, dk, dv } = args;
  const D = args.headDim;
  const { heads, qRow, kvRow, visible, first } = layout(args);
  const cap = args.softcap;
  // Sums over many rows and heads: accumulate in f64, store once at the end.
  const gq = new Float64Array(q.length);
  const gk = new Float64Array(k.length);
  const gv = new Float64Array(v.length);
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < args.seqQ; i++) {
      const qo = qRow(bh, i);
      const count = visible(i);
      const lo = Math.min(first(bh, i), count);
      const s = scores(q, k, qo, bh, lo, count, args, kvRow); // [count]
      const rowLse = lse[bh * args.seqQ + i];
      const delta = dot(dOut, qo, out, qo, D);
      for (let j = lo; j < count; j++) {
        const ko = kvRow(bh, j);
        const p = Math.exp(s[j] - rowLse);
        const capGrad = cap === undefined ? 1 : 1 - (s[j] / cap) ** 2;
        const ds = p * (dot(dOut, qo, v, ko, D) - delta) * capGrad;
        for (let d = 0; d < D; d++) {
          gq[qo + d] += args.scale * ds * k[ko + d];
          gk[ko + d] += args.scale * ds * q[qo + d];
          gv[ko + d] += p * dOut[qo + d];
        }
      }
    }
  }
  dq?.set(gq);
  dk?.set(gk);
  dv?.set(gv);
};
