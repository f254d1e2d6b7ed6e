import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IGNORE, collateLm } from '../../src/data/batching.js';
import type { LmExample } from '../../src/data/examples.js';
import { collatePacked, packExamples, packStats } from '../../src/data/packing.js';
import { randint } from '../helpers/random.js';

test('packExamples: every example exactly once, no pack over capacity, deterministic, fuller than one per row', () => {
  const lengths = Array.from(randint(500, 7, 1, 120));
  const packs = packExamples(lengths, 128);
  assert.deepEqual(
    packs.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  for (const p of packs) assert.ok(p.reduce((s, i) => s + lengths[i]!, 0) <= 128);
  assert.deepEqual(packExamples(lengths, 128), packs);
  const s = packStats(lengths, packs, 128);
  assert.equal(s.examples, 500);
  assert.ok(s.packs < 500 && s.fill > 0.9, `${s.packs} packs, fill ${s.fill}`); // first-fit decreasing packs tightly
  assert.throws(() => packExamples([3, 200], 128), /example 1 has 200 tokens, more than the 128/);
});

test('collatePacked: targets stay inside each example; positions restart; equals collateLm row by row', () => {
  const ex: LmExample[] = [
    { ids: [1, 5, 6, 7], lossMask: [0, 1, 1, 1], text: '' },
    { ids: [1, 8, 9], lossMask: [0, 0, 1], text: '' },
    { ids: [1, 4], lossMask: [0, 1], text: '' },
  ];
  const b = collatePacked([[ex[0]!, ex[1]!], [ex[2]!]], 0);
  assert.equal(b.seqLen, 7);
  assert.deepEqual(Array.from(b.positions), [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(b.lengths), [7, 2]);
  assert.deepEqual(Array.from(b.examplesPerRow), [2, 1]);
  // the last token of example 0 (col 3) predicts nothing: not the next example's BOS
  assert.equal(b.targets[3], IGNORE);
  const alone = ex.map((e) => collateLm([e], 0));
  assert.deepEqual(Array.from(b.targets.subarray(0, 4)), Array.from(alone[0]!.targets));
  assert.deepEqual(Array.from(b.targets.subarray(4, 7)), Array.from(alone[1]!.targets));
  assert.deepEqual(Array.from(b.targets.subarray(7, 9)), Array.from(alone[2]!.targets));
  assert.ok(b.targets.subarray(9).every((t) => t === IGNORE)); // padding
});
