import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankSlice } from '../../src/data/batching.js';
import { fingerprint } from '../../src/train/distributed.js';

test('rankSlice: the ranks partition every batch in order, sizes differ by at most one, small batches leave ranks empty', () => {
  for (const size of [1, 2, 3, 4, 7])
    for (const b of [0, 1, 2, 3, 5, 8, 13]) {
      const batch = Array.from({ length: b }, (_, i) => 100 + i);
      const slices = Array.from({ length: size }, (_, r) => rankSlice(batch, r, size));
      assert.deepEqual(slices.flat(), batch, `size ${size}, batch ${b}`);
      const lens = slices.map((s) => s.length);
      assert.ok(Math.max(...lens) - Math.min(...lens) <= 1);
    }
  assert.deepEqual(rankSlice([1, 2, 3, 4, 5, 6, 7, 8], 1, 2), [5, 6, 7, 8]);
});

test('rankSlice refuses a rank outside the job', () => {
  assert.throws(() => rankSlice([1, 2], 2, 2), /rank 2 of 2/);
  assert.throws(() => rankSlice([1, 2], 0, 0), /rank 0 of 0/);
});

test('fingerprint: equal arrays agree bit for bit; a changed or swapped value changes it', () => {
  const a = new Float32Array([1.5, -2, 3.25, 0.125]);
  const b = new Float32Array([7, 8]);
  assert.deepEqual(fingerprint([a, b]), fingerprint([a.slice(), b.slice()]));
  const swapped = new Float32Array([-2, 1.5, 3.25, 0.125]);
  assert.notDeepEqual(fingerprint([swapped, b]), fingerprint([a, b]));
  const nudged = a.slice();
  nudged[2] = Math.fround(3.25 + 1e-6);
  assert.notDeepEqual(fingerprint([nudged, b]), fingerprint([a, b]));
  assert.deepEqual(fingerprint([new Uint16Array([1, 2])]), [3, 1 * 1 + 2 * 2]);
});
