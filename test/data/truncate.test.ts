import assert from 'node:assert/strict';
import { test } from 'node:test';
import { truncateLeft, truncateLmExample } from '../../src/data/truncate.js';
import { BOS } from '../helpers/byteTokenizer.js';

test('left truncation keeps BOS at 0 and the last maxLen-1 tokens', () => {
  const ids = [BOS, 10, 11, 12, 13, 14, 15];
  for (let maxLen = 2; maxLen <= 9; maxLen++) {
    const t = truncateLeft(ids, maxLen, BOS);
    assert.equal(t[0], BOS);
    assert.equal(t.length, Math.min(maxLen, ids.length));
    assert.deepEqual(t.slice(1), ids.slice(ids.length - (t.length - 1)));
  }
  assert.throws(() => truncateLeft(ids, 1, BOS), /max length must be/);
});

test('without a leading BOS it keeps the last maxLen tokens', () => {
  assert.deepEqual(truncateLeft([5, 6, 7, 8], 2, BOS), [7, 8]);
  assert.deepEqual(truncateLeft([5, 6, 7, 8], 3, null), [6, 7, 8]);
});

test('LM example: ids and loss mask cut together', () => {
  const ex = { ids: [BOS, 3, 4, 5, 6], lossMask: [0, 0, 1, 1, 1], text: '' };
  const t = truncateLmExample(ex, 3, BOS);
  assert.deepEqual(t.ids, [BOS, 5, 6]);
  assert.deepEqual(t.lossMask, [0, 1, 1]);
  assert.deepEqual(ex.ids.length, 5, 'input untouched');
});
