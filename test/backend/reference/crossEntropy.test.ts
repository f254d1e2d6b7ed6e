import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randint, randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

const IGNORE = -100;

test('crossEntropy: a row by hand; an ignored row gives zero loss and a zero gradient row', () => {
  const logits = new Float32Array([0, Math.log(3), 5, 6]);
  const targets = new Int32Array([1, IGNORE]);
  const loss = new Float32Array(2).fill(NaN);
  const dLogits = new Float32Array(4).fill(NaN);
  ref.crossEntropy({ logits, targets, loss, dLogits, rows: 2, vocab: 2, ignoreIndex: IGNORE, gradScale: 0.5 });
  assertClose(loss, [Math.log(4) - Math.log(3), 0], { dtype: 'f32', what: 'loss' });
  assertClose(dLogits, [0.5 * 0.25, 0.5 * (0.75 - 1), 0, 0], { dtype: 'f32', what: 'dLogits' });
});

test('crossEntropy: loss equals -logSoftmax at the target, and is stable for huge logits', () => {
  const [rows, vocab] = [3, 7];
  const logits = randn(rows * vocab, 1).map((v) => 1000 + 5 * v);
  const targets = randint(rows, 2, 0, vocab);
  const loss = new Float32Array(rows);
  ref.crossEntropy({ logits, targets, loss, dLogits: null, rows, vocab, ignoreIndex: IGNORE, gradScale: 1 });
  const logp = new Float32Array(logits.length);
  ref.logSoftmax(logits, logp, rows, vocab);
  assertClose(
    loss,
    Array.from(targets, (t, r) => -logp[r * vocab + t]),
    { dtype: 'f32', what: 'loss' },
  );
});

test('crossEntropy: dLogits matches finite differences of gradScale * Σ loss, also in place', () => {
  const [rows, vocab, gradScale] = [5, 7, 0.25];
  const logits = randn(rows * vocab, 3);
  const targets = randint(rows, 4, 0, vocab);
  targets[2] = IGNORE;
  const loss = new Float32Array(rows);
  const dLogits = new Float32Array(logits.length);
  ref.crossEntropy({ logits, targets, loss, dLogits, rows, vocab, ignoreIndex: IGNORE, gradScale });
  checkGradient({
    what: 'crossEntropy dLogits',
    input: logits,
    weights: new Float32Array(rows).fill(gradScale),
    analytic: dLogits,
    forward: () => {
      const l = new Float32Array(rows);
      ref.crossEntropy({ logits, targets, loss: l, dLogits: null, rows, vocab, ignoreIndex: IGNORE, gradScale: 1 });
      return l;
    },
  });
  const inPlace = logits.slice();
  ref.crossEntropy({
    logits: inPlace,
    targets,
    loss: new Float32Array(rows),
    dLogits: inPlace,
    rows,
    vocab,
    ignoreIndex: IGNORE,
    gradScale,
  });
  assert.deepEqual(inPlace, dLogits);
});

test('crossEntropy: a target outside the vocabulary is an error', () => {
  assert.throws(
    () =>
      ref.crossEntropy({
        logits: new Float32Array(2),
        targets: new Int32Array([2]),
        loss: new Float32Array(1),
        dLogits: null,
        rows: 1,
        vocab: 2,
        ignoreIndex: IGNORE,
        gradScale: 1,
      }),
    /outside/,
  );
});
