import { collateClassification, collateLm, IGNORE, type ClassificationBatch } from '../data/batching.js';
import type { ClassificationExample, LmExample } from '../data/examples.js';
import { collatePacked, packExamples } from '../data/packing.js';
import type { CausalLM } from '../models/causalLM.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { candidateLoss, candidateScores } from '../eval/candidateScores.js';

/** What a training step minimises on a batch of example indices: next-token
 * cross-entropy (text, prompt/completion, chat) or the candidate-scoring
 * classification loss (the paper's tasks). */
export interface Objective {
  readonly kind: 'lm' | 'classification';
  readonly size: number;
  /** Token count of each example (for length-grouped batching). */
  lengths(): number[];
  loss(model: CausalLM, indices: readonly number[]): ObjectiveLoss;
}

/** A batch's loss: `loss` is a mean over `weight` units (LM: predicted tokens; classification:
 * examples), so a data-parallel step can weight each rank's slice as the whole batch would
 * (train/distributed.ts); `tokens` counts the batch's tokens (for throughput). */
export interface ObjectiveLoss {
  loss: Tensor;
  tokens: number;
  weight: number;
}

function predictedTokens(targets: Int32Array): number {
  let n = 0;
  for (const t of targets) if (t !== IGNORE) n++;
  return n;
}

/** The LM objective over sequences packed from `examples` (packing.ts, --pack): each
 * "example" of the objective is one packed sequence of up to `capacity` tokens. The loss
 * is the mean over the batch's predicted tokens, as unpacked, so the same examples give
 * the same loss and gradients packed or not. */
export function packedLmObjective(examples: LmExample[], padId: number, capacity: number): Objective & { packs: number[][] } {
  const packs = packExamples(
    examples.map((e) => e.ids.length),
    capacity,
  );
  return {
    kind: 'lm',
    size: packs.length,
    packs,
    lengths: () => packs.map((p) => p.reduce((s, i) => s + examples[i]!.ids.length, 0)),
    loss(model, indices) {
      const b = collatePacked(
        indices.map((i) => packs[i]!.map((j) => examples[j]!)),
        padId,
      );
      const be = model.lmHeadWeight().backend;
      const ids = tensor(be, b.inputIds, [b.batch, b.seqLen], 'i32');
      const targets = tensor(be, b.targets, [b.targets.length], 'i32');
      return {
        loss: model.loss(ids, targets, b.positions),
        tokens: b.lengths.reduce((s, n) => s + n, 0),
        weight: predictedTokens(b.targets),
      };
    },
  };
}

export function lmObjective(examples: LmExample[], padId: number): Objective {
  return {
    kind: 'lm',
    size: examples.length,
    lengths: () => examples.map((e) => e.ids.length),
    loss(model, indices) {
      const b = collateLm(
        indices.map((i) => examples[i]!),
        padId,
      );
      const be = model.lmHeadWeight().backend;
      const ids = tensor(be, b.inputIds, [b.batch, b.seqLen], 'i32');
      const targets = tensor(be, b.targets, [b.targets.length], 'i32');
      return { loss: model.loss(ids, targets), tokens: b.lengths.reduce((s, n) => s + n, 0), weight: predictedTokens(b.targets) };
    },
  };
}

export function classificationObjective(examples: ClassificationExample[], padId: number, maxLen: number, bosId: number | null): Objective {
  return {
    kind: 'classification',
    size: examples.length,
    lengths: () => examples.map((e) => Math.max(...e.fullIds.map((f) => f.length))),
    loss(model, indices) {
      const b: ClassificationBatch = collateClassification(
        indices.map((i) => examples[i]!),
        padId,
        { maxLen, bosId },
      );
      return { loss: candidateLoss(candidateScores(model, b), b), tokens: b.lengths.reduce((s, n) => s + n, 0), weight: b.batch };
    },
  };
}

/** The objective's mean loss over all its examples, without gradients (MeZO's eval_loss:
 * the Trainer's loss on the eval set, computed as in training). Classification losses
 * average over examples, LM losses over predicted tokens. */
export function meanLoss(objective: Objective, model: CausalLM, batchSize = 8): number {
  return noGrad(() => {
    let total = 0;
    let weight = 0;
    for (let i = 0; i < objective.size; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, objective.size - i) }, (_, k) => i + k);
      const r = objective.loss(model, idx);
      const w = objective.kind === 'lm' ? r.tokens : idx.length;
      total += r.loss.item() * w;
      weight += w;
    }
    return weight > 0 ? total / weight : NaN;
  });
}
