/** Accuracy by candidate scoring (MeZO run.py:297-299: argmax of the mean option
 * log-prob) against the hand scores of a tiny model, across batch boundaries. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClassificationExample } from '../../src/data/examples.js';
import { evaluateClassification, macroF1 } from '../../src/eval/evaluate.js';
import { tinyModel } from '../lora/tinyModel.js';
import { handScores } from './handScores.js';

function example(i: number): ClassificationExample {
  const promptIds = [1, ...Array.from({ length: 2 + (i % 4) }, (_, t) => 3 + ((i * 5 + t * 7) % 29))];
  const candidateIds = i % 3 === 0 ? [[4], [9, 10], [17]] : [[4 + (i % 5)], [20, 21 + (i % 3)]];
  const fullIds = candidateIds.map((c) => [...promptIds, ...c]);
  const texts = fullIds.map(() => '');
  return { promptIds, candidateIds, fullIds, label: i % candidateIds.length, prompt: '', candidates: texts, texts };
}

test('evaluateClassification: predictions are the argmax of the hand scores, accuracy their hit rate', () => {
  const model = tinyModel({ seed: 11 });
  const examples = Array.from({ length: 11 }, (_, i) => example(i));
  const want = handScores(model, examples).map((s) => s.indexOf(Math.max(...s)));
  const { metrics, predictions } = evaluateClassification(model, examples, 2, { maxLen: 64, bosId: 1, batchSize: 4 });
  assert.deepEqual(predictions, want);
  const hits = want.filter((p, i) => p === examples[i]!.label).length;
  assert.equal(metrics.accuracy, hits / examples.length);
  assert.equal(metrics.count, 11);
});

test('macroF1: unweighted mean of per-class F1, by hand', () => {
  // class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1, fn 0 -> 0.8; class 2: tp 0 -> 0
  assert.equal(macroF1([0, 1, 1, 0, 1], [0, 1, 1, 2, 0]), (0.5 + 0.8 + 0) / 3);
});
