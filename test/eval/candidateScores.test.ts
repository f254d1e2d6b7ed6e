/** The classification objective (MeZO train_as_classification) against a hand
 * computation from the logits of a tiny model, and its backward against finite differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collateClassification } from '../../src/data/batching.js';
import type { ClassificationExample } from '../../src/data/examples.js';
import { applyLora } from '../../src/lora/inject.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { candidateLoss, candidateScores, predictions } from '../../src/eval/candidateScores.js';
import { classificationObjective } from '../../src/train/objective.js';
import { checkGradient } from '../helpers/gradcheck.js';
import { assertClose } from '../helpers/tolerance.js';
import { loraConfig, randomizeB, tinyModel } from '../lora/tinyModel.js';
import { handLoss, handScores } from './handScores.js';

const BOS = 1;
const PAD = 2;

function example(promptIds: number[], candidateIds: number[][], label: number, fullIds?: number[][]): ClassificationExample {
  const full = fullIds ?? candidateIds.map((c) => [...promptIds, ...c]);
  const texts = full.map(() => '');
  return { promptIds, candidateIds, fullIds: full, label, prompt: '', candidates: texts, texts };
}

/** Options of 1 to 3 tokens (mean and sum differ), 2 and 3 candidates in one batch (as CB
 * beside RTE), and one example whose full encoding does not start with the prompt's. */
const EXAMPLES: ClassificationExample[] = [
  example([BOS, 5, 9, 12], [[7], [8, 20, 4]], 1),
  example([BOS, 3, 3, 30, 17, 6], [[11, 25], [25], [13, 14, 15]], 0),
  example([BOS, 5, 6], [[7], [9, 9]], 1, [
    [BOS, 5, 28, 7],
    [BOS, 5, 6, 9, 9],
  ]),
];

const flat = (s: number[][]) => s.flat();
const batch = () => collateClassification(EXAMPLES, PAD, { maxLen: 64, bosId: BOS });

test('candidate scores = MEAN log-prob of the option tokens, by hand from the logits', () => {
  const model = tinyModel();
  const want = handScores(model, EXAMPLES);
  const b = batch();
  const got = noGrad(() => candidateScores(model, b)).f32;
  assertClose(got, flat(want), { dtype: 'f32', what: 'candidate scores' });
  // the sum would differ wherever an option has more than one token
  assert.ok(Math.abs(want[0]![1]! * 3 - want[0]![1]!) > 1e-3);
  // the third example is scored on its full encoding, not prompt ++ option
  assert.equal(b.inputIds[b.rowStart[2]! * b.seqLen + 2], 28);
  const argmax = want.map((s) => s.indexOf(Math.max(...s)));
  assert.deepEqual(predictions(got, b), argmax);
});

test('candidate loss = cross-entropy over the scores, averaged over examples; objective agrees', () => {
  const model = tinyModel();
  const want = handLoss(
    handScores(model, EXAMPLES),
    EXAMPLES.map((e) => e.label),
  );
  const b = batch();
  const loss = noGrad(() => candidateLoss(candidateScores(model, b), b)).f32[0]!;
  assertClose([loss], [want], { dtype: 'f32', what: 'candidate loss' });
  const objective = classificationObjective(EXAMPLES, PAD, 64, BOS);
  assertClose([noGrad(() => objective.loss(model, [0, 1, 2]).loss.f32[0]!)], [want], { dtype: 'f32', what: 'objective loss' });
  assert.deepEqual(objective.lengths(), [7, 9, 5]);
});

test('classification loss backward matches finite differences (LoRA A and B)', () => {
  const model = tinyModel();
  const layers = applyLora(model, loraConfig(), 3);
  randomizeB(layers, 5);
  const b = batch();
  const lossOf = () => candidateLoss(candidateScores(model, b), b);
  lossOf().backward();
  const layer = layers[1]!;
  for (const p of [layer.lora_A, layer.lora_B]) {
    assert.ok(
      p.grad!.f32.some((g) => Math.abs(g) > 1e-4),
      'a gradient to check',
    );
    checkGradient({
      what: 'classification loss',
      input: p.f32,
      forward: () => noGrad(() => lossOf()).f32.slice(),
      analytic: p.grad!.f32,
      weights: new Float32Array([1]),
      eps: 1e-2,
    });
  }
});
