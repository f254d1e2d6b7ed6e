import type { ClassificationBatch } from '../data/batching.js';
import type { CausalLM } from '../models/causalLM.js';
import { record } from '../tensor/autograd.js';
import { tensor, zeros } from '../tensor/ops/creation.js';
import { lmHeadTokenNll } from '../tensor/ops/crossEntropy.js';
import { mul, scale } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** MeZO / the paper: a candidate's score is the MEAN log-probability of its option tokens
 * given what precedes them (MeZO run.py:297-299 "length-normalized log probabilities" at
 * evaluation, utils.py:64-69 in training). Returns scores [numSeqs], one per
 * (example, candidate) row. */
export function candidateScores(model: CausalLM, b: ClassificationBatch): Tensor {
  const be = model.lmHeadWeight().backend;
  const ids = tensor(be, b.inputIds, [b.numSeqs, b.seqLen], 'i32');
  const h = model.hidden(ids); // (S, T, d)
  const d = h.dim(-1);
  const nll = lmHeadTokenNll(
    reshape(h, [b.numSeqs * b.seqLen, d]),
    model.lmHeadWeight(),
    tensor(be, b.targets, [b.targets.length], 'i32'),
    {
      softcap: model.finalLogitSoftcap,
    },
  );
  // weight 1/optionLen on the positions predicting option tokens (targets[p-1] = ids[p])
  const w = new Float32Array(b.numSeqs * b.seqLen);
  for (let r = 0; r < b.numSeqs; r++) {
    for (let p = b.optionStart[r]!; p < b.optionStart[r]! + b.optionLen[r]!; p++) w[r * b.seqLen + p - 1] = 1 / b.optionLen[r]!;
  }
  const perRow = sum(reshape(mul(nll, tensor(be, w, [w.length])), [b.numSeqs, b.seqLen]), 1); // (S, 1)
  return scale(reshape(perRow, [b.numSeqs]), -1);
}

/** Cross-entropy over each example's candidate scores against its label, averaged
 * over examples (the paper's classification objective; MeZO utils.py:71-88, which also
 * averages per example when examples have different numbers of candidates). */
export function candidateLoss(scores: Tensor, b: ClassificationBatch): Tensor {
  const s = scores.f32;
  const probs = new Float64Array(s.length);
  let total = 0;
  for (let e = 0; e < b.batch; e++) {
    const r0 = b.rowStart[e]!;
    const n = b.numCandidates[e]!;
    let max = -Infinity;
    for (let c = 0; c < n; c++) max = Math.max(max, s[r0 + c]!);
    let z = 0;
    for (let c = 0; c < n; c++) z += Math.exp(s[r0 + c]! - max);
    for (let c = 0; c < n; c++) probs[r0 + c] = Math.exp(s[r0 + c]! - max) / z;
    total += -(s[r0 + b.labels[e]!]! - max - Math.log(z));
  }
  const out = zeros(scores.backend, [1]);
  out.f32[0] = total / b.batch;
  return record(out, 'candidateLoss', [scores], (g) => {
    const gs = zeros(scores.backend, scores.shape);
    for (let e = 0; e < b.batch; e++) {
      const r0 = b.rowStart[e]!;
      for (let c = 0; c < b.numCandidates[e]!; c++) {
        gs.f32[r0 + c] = (g.f32[0]! * (probs[r0 + c]! - (c === b.labels[e] ? 1 : 0))) / b.batch;
      }
    }
    return [gs];
  });
}

/** Index of the best-scoring candidate of each example. */
export function predictions(scores: Float32Array, b: ClassificationBatch): number[] {
  const out: number[] = [];
  for (let e = 0; e < b.batch; e++) {
    let best = 0;
    for (let c = 1; c < b.numCandidates[e]!; c++) if (scores[b.rowStart[e]! + c]! > scores[b.rowStart[e]! + best]!) best = c;
    out.push(best);
  }
  return out;
}
