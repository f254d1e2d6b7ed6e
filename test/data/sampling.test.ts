import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carveFromVal, mezoSample } from '../../src/data/sampling.js';
import { RandomState } from '../../src/data/numpyRandom.js';

const sizes = { numTrain: 1000, numDev: 500, numEval: 1000 };

function disjoint(...sets: number[][]): boolean {
  const all = sets.flat();
  return new Set(all).size === all.length;
}

test('protocol counts from split sizes (the tasks of method.md section 3)', () => {
  const cases: [string, number, number, number, [number, number, number]][] = [
    ['SST-2', 67349, 872, 500, [1000, 500, 872]],
    ['RTE', 2490, 277, 500, [1000, 500, 277]],
    ['CB', 250, 56, 100, [150, 100, 56]],
    ['WSC', 554, 104, 500, [54, 500, 104]],
    ['WiC', 5428, 638, 500, [1000, 500, 638]],
    ['MultiRC', 27243, 4848, 500, [1000, 500, 1000]],
    ['COPA', 400, 100, 100, [300, 100, 100]],
  ];
  for (const [name, nTrain, nVal, numDev, want] of cases) {
    const s = mezoSample(nTrain, nVal, 0, { ...sizes, numDev });
    assert.deepEqual([s.train.length, s.dev.length, s.test.length], want, name);
    assert.ok(disjoint(s.train, s.dev), `${name}: train and dev disjoint`);
  }
});

test('dev is the tail of the seeded pool (MeZO run.py: train_samples[-num_dev:])', () => {
  const s = mezoSample(554, 104, 3, sizes);
  const perm = new RandomState(3).permutation(554);
  assert.deepEqual(s.train, perm.slice(0, 54));
  assert.deepEqual(s.dev, perm.slice(54));
  assert.deepEqual(s.test, new RandomState(3).permutation(104));
  assert.throws(() => mezoSample(100, 10, 0, sizes), /no training example would be left/);
});

test('carveFromVal: disjoint train/dev/test from one file, deterministic per seed', () => {
  const s = carveFromVal(3270, 1, sizes);
  assert.deepEqual([s.train.length, s.dev.length, s.test.length], [1000, 500, 1000]);
  assert.ok(disjoint(s.train, s.dev, s.test));
  assert.deepEqual(carveFromVal(3270, 1, sizes), s);
  assert.notDeepEqual(carveFromVal(3270, 2, sizes).train, s.train);
  const small = carveFromVal(300, 0, { numTrain: 1000, numDev: 50, numEval: 1000 });
  assert.ok(small.train.length > 0 && disjoint(small.train, small.dev, small.test));
});
