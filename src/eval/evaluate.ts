import { collateClassification, collateLm } from '../data/batching.js';
import type { ClassificationExample, LmExample } from '../data/examples.js';
import type { CausalLM } from '../models/causalLM.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/ops/creation.js';
import { candidateScores, predictions } from './candidateScores.js';

export interface Metrics {
  [name: string]: number;
}

/** Mean next-token loss over all predicted tokens and its perplexity; with no token to
 * predict the loss is NaN, never 0 (callers refuse: `tokens` is 0). */
export function evaluateLm(model: CausalLM, examples: LmExample[], padId: number, batchSize = 8): Metrics {
  return noGrad(() => {
    let nll = 0;
    let count = 0;
    const be = model.lmHeadWeight().backend;
    for (let i = 0; i < examples.length; i += batchSize) {
      const b = collateLm(examples.slice(i, i + batchSize), padId);
      const n = b.targets.reduce((s, t) => s + (t >= 0 ? 1 : 0), 0);
      if (n === 0) continue;
      const loss = model.loss(tensor(be, b.inputIds, [b.batch, b.seqLen], 'i32'), tensor(be, b.targets, [b.targets.length], 'i32'));
      nll += loss.item() * n;
      count += n;
    }
    const loss = count === 0 ? NaN : nll / count;
    return { loss, perplexity: Math.exp(loss), tokens: count };
  });
}

/** Accuracy (and macro-F1) by candidate scoring: argmax of mean option log-prob. */
export function evaluateClassification(
  model: CausalLM,
  examples: ClassificationExample[],
  padId: number,
  opts: { maxLen: number; bosId: number | null; batchSize?: number },
): { metrics: Metrics; predictions: number[] } {
  return noGrad(() => {
    const preds: number[] = [];
    const bs = opts.batchSize ?? 8;
    for (let i = 0; i < examples.length; i += bs) {
      const b = collateClassification(examples.slice(i, i + bs), padId, opts);
      preds.push(...predictions(candidateScores(model, b).f32, b));
    }
    const labels = examples.map((e) => e.label);
    const correct = preds.filter((p, i) => p === labels[i]).length;
    return {
      metrics: { accuracy: correct / Math.max(examples.length, 1), macro_f1: macroF1(preds, labels), count: examples.length },
      predictions: preds,
    };
  });
}

/** Unweighted mean of per-class F1 (SuperGLUE scores CB this way). */
export function macroF1(preds: number[], labels: number[]): number {
  const classes = [...new Set([...labels, ...preds])];
  const f1s = classes.map((c) => {
    const tp = preds.filter((p, i) => p === c && labels[i] === c).length;
    const fp = preds.filter((p, i) => p === c && labels[i] !== c).length;
    const fn = preds.filter((p, i) => p !== c && labels[i] === c).length;
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return f1s.reduce((a, b) => a + b, 0) / Math.max(classes.length, 1);
}
