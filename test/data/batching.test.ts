import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IGNORE, batchOrder, collateClassification, collateLm } from '../../src/data/batching.js';
import { promptCompletionToLm } from '../../src/data/formats.js';
import { tokenizeChoice } from '../../src/data/verbalize.js';
import { BOS, PAD, byteTokenizer } from '../helpers/byteTokenizer.js';

const tok = byteTokenizer();
const lengths = Array.from({ length: 103 }, (_, i) => 1 + ((i * 37) % 50));

test('batchOrder covers every example exactly once per epoch', () => {
  for (const shuffle of [true, false]) {
    const b = batchOrder(lengths, { batchSize: 8, seed: 3, epoch: 1, shuffle });
    assert.deepEqual(
      b.flat().sort((x, y) => x - y),
      lengths.map((_, i) => i),
    );
    assert.ok(b.every((x) => x.length <= 8 && x.length > 0));
  }
});

test('batchOrder is deterministic for a seed and epoch and changes with them', () => {
  const a = batchOrder(lengths, { batchSize: 4, seed: 5, epoch: 0 });
  assert.deepEqual(batchOrder(lengths, { batchSize: 4, seed: 5, epoch: 0 }), a);
  assert.notDeepEqual(batchOrder(lengths, { batchSize: 4, seed: 5, epoch: 1 }), a);
  assert.notDeepEqual(batchOrder(lengths, { batchSize: 4, seed: 6, epoch: 0 }), a);
});

test('length grouping reduces padding versus no grouping', () => {
  const pad = (bs: number[][]) =>
    bs.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i])) - b.reduce((t, i) => t + lengths[i], 0), 0);
  const grouped = batchOrder(lengths, { batchSize: 4, seed: 1, window: 16 });
  const plain = batchOrder(lengths, { batchSize: 4, seed: 1, window: 1 });
  assert.ok(pad(grouped) < pad(plain), `${pad(grouped)} < ${pad(plain)}`);
});

test('collateLm: next-token targets only where the loss mask is 1; padding ignored', () => {
  const a = promptCompletionToLm(tok, 'ab', 'c');
  const b = promptCompletionToLm(tok, 'abcde', 'fg');
  const batch = collateLm([a, b], PAD);
  assert.equal(batch.seqLen, b.ids.length);
  assert.equal(batch.inputIds.length, batch.batch * batch.seqLen);
  for (const [r, ex] of [a, b].entries()) {
    const row = Array.from(batch.targets.slice(r * batch.seqLen, (r + 1) * batch.seqLen));
    const expected = row.map((_, t) => (t + 1 < ex.ids.length && ex.lossMask[t + 1] === 1 ? ex.ids[t + 1] : IGNORE));
    assert.deepEqual(row, expected);
    assert.equal(row.filter((x) => x !== IGNORE).length, ex.lossMask.filter((m) => m === 1).length);
    assert.ok(Array.from(batch.inputIds.slice(r * batch.seqLen + ex.ids.length, (r + 1) * batch.seqLen)).every((x) => x === PAD));
  }
});

test('collateClassification: one row per candidate, option positions and targets line up', () => {
  const e1 = tokenizeChoice(tok, { prompt: 'Is it good? Yes or No?\n', candidates: ['No', 'Yes'], label: 1 });
  const e2 = tokenizeChoice(tok, { prompt: 'It was', candidates: ['terrible', 'great'], label: 0 });
  const maxLen = 12;
  const cb = collateClassification([e1, e2], PAD, { maxLen, bosId: BOS });
  assert.equal(cb.numSeqs, 4);
  assert.deepEqual(Array.from(cb.rowStart), [0, 2]);
  assert.deepEqual(Array.from(cb.labels), [1, 0]);
  for (let s = 0; s < cb.numSeqs; s++) {
    const ex = [e1, e2][cb.exampleOf[s]];
    const cand = ex.candidateIds[cb.candidateOf[s]];
    const row = Array.from(cb.inputIds.slice(s * cb.seqLen, s * cb.seqLen + cb.lengths[s]));
    assert.ok(row.length <= maxLen);
    assert.equal(row[0], BOS, 'left truncation keeps BOS');
    assert.deepEqual(row.slice(cb.optionStart[s], cb.optionStart[s] + cb.optionLen[s]), cand);
    const tg = Array.from(cb.targets.slice(s * cb.seqLen, (s + 1) * cb.seqLen));
    assert.deepEqual(
      tg.filter((x) => x !== IGNORE),
      cand,
    );
    assert.equal(tg[cb.optionStart[s] - 1], cand[0]);
  }
});
