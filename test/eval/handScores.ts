/** Candidate scores computed by hand, one sequence at a time and in f64, from the logits
 * of a model: what candidateScores must equal (MeZO run.py:225-234: log-softmax of the
 * logits, the log-probability of each next token, the last option_len of them). */
import type { ClassificationExample } from '../../src/data/examples.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';

/** log P(ids[p] | ids[<p]) for p = 1 .. T-1, from logits [T, V]. */
export function tokenLogProbs(model: CausalLM, ids: number[]): number[] {
  const lg = noGrad(() => model.logits(tensor(model.lmHeadWeight().backend, ids, [1, ids.length], 'i32'))).f32;
  const V = model.dims.vocabSize;
  const out: number[] = [];
  for (let p = 1; p < ids.length; p++) {
    const row = lg.subarray((p - 1) * V, p * V);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let z = 0;
    for (const x of row) z += Math.exp(x - max);
    out.push(row[ids[p]!]! - max - Math.log(z));
  }
  return out;
}

/** Score of each (example, candidate): the MEAN log-probability of its option tokens. */
export function handScores(model: CausalLM, examples: ClassificationExample[]): number[][] {
  return examples.map((ex) =>
    ex.fullIds.map((ids, c) => {
      const optionLen = ex.candidateIds[c]!.length;
      const lp = tokenLogProbs(model, ids).slice(-optionLen);
      return lp.reduce((s, x) => s + x, 0) / optionLen;
    }),
  );
}

/** Cross-entropy of each example's scores against its label, averaged over examples
 * (MeZO utils.py:62-88, the classification branch). */
export function handLoss(scores: number[][], labels: number[]): number {
  let total = 0;
  scores.forEach((s, e) => {
    const max = Math.max(...s);
    const lse = max + Math.log(s.reduce((z, x) => z + Math.exp(x - max), 0));
    total += lse - s[labels[e]!]!;
  });
  return total / scores.length;
}
