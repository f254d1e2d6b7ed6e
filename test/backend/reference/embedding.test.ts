import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';

const [vocab, dim] = [5, 3];
const ids = new Int32Array([4, 0, 4, 2]); // a repeated id must add up

function lookup(weight: Float32Array | Uint16Array): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ref.embedding(weight, ids, out, dim);
  return out;
}

test('embedding: copies rows, decoding bf16 weights', () => {
  const weight = new Float32Array(vocab * dim).map((_, i) => i);
  assert.deepEqual(Array.from(lookup(weight)), [12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8]);
  const bits = new Uint16Array(weight.length);
  ref.castToBf16(weight, bits); // small integers are exact in bf16
  assert.deepEqual(lookup(bits), lookup(weight));
});

test('embeddingBackward: scatter-adds into dWeight (finite differences)', () => {
  const weight = randn(vocab * dim, 1);
  const w = randn(ids.length * dim, 2);
  const dWeight = new Float32Array(vocab * dim);
  ref.embeddingBackward(ids, w, dWeight, dim);
  checkGradient({ what: 'embedding dWeight', input: weight, weights: w, analytic: dWeight, forward: () => lookup(weight) });
  assert.ok(
    dWeight.subarray(1 * dim, 2 * dim).every((g) => g === 0),
    'unused row 1 has no gradient',
  );
});
