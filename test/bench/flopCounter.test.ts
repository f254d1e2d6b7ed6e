// The FLOP count behind `cola bench train-step`'s share of the machine's matmul rate
// (issue 15): attention's visible pairs checked against the reference kernel itself,
// and a counted step checked against the shape's products.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionShape } from '../../src/backend/backend.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { attentionPairs, countFlops } from '../../src/bench/flopCounter.js';
import { benchTrainStep } from '../../src/bench/trainStep.js';
import { matmulArgs } from '../helpers/matmulArgs.js';

/** Keys each query sees, read from the reference kernel: with q = 0 every visible
 * score is 0, so a row's logsumexp is log(count) (and -inf for no key). */
function pairsSeenByReference(shape: AttentionShape): number {
  const { batch, headsQ, headsKv, seqQ, seqKv, headDim } = shape;
  const lse = new Float32Array(batch * headsQ * seqQ);
  referenceBackend.attention({
    ...shape,
    q: new Float32Array(batch * headsQ * seqQ * headDim),
    k: Float32Array.from({ length: batch * headsKv * seqKv * headDim }, (_, i) => Math.sin(i)),
    v: new Float32Array(batch * headsKv * seqKv * headDim),
    out: new Float32Array(batch * headsQ * seqQ * headDim),
    lse,
  });
  return lse.reduce((s, x) => s + (x === -Infinity ? 0 : Math.round(Math.exp(x))), 0);
}

const base: AttentionShape = { batch: 2, headsQ: 4, headsKv: 2, seqQ: 9, seqKv: 9, headDim: 3, scale: 1, causal: false };

test('attentionPairs counts the keys the reference kernel lets each query see', () => {
  const keyStart = Int32Array.from({ length: 2 * 9 }, (_, i) => [0, 0, 0, 3, 3, 3, 3, 7, 7][i % 9]!);
  const shapes: AttentionShape[] = [
    base,
    { ...base, causal: true },
    { ...base, causal: true, window: 3 },
    { ...base, causal: true, keyStart },
    { ...base, causal: true, keyStart, window: 2 },
    { ...base, causal: true, seqQ: 4 }, // queries at the end of a longer key sequence (a cache)
  ];
  for (const shape of shapes) assert.equal(attentionPairs(shape), pairsSeenByReference(shape), JSON.stringify(shape));
  assert.equal(attentionPairs({ ...base, causal: true }), 2 * 4 * ((9 * 10) / 2));
});

test('countFlops adds 2mnk per product and leaves the result alone', () => {
  const counter = countFlops(referenceBackend);
  const args = (c: Float32Array) =>
    matmulArgs({
      a: Float32Array.from({ length: 6 }, (_, i) => i),
      b: Float32Array.from({ length: 12 }, (_, i) => i / 3),
      c,
      m: 2,
      n: 4,
      k: 3,
    });
  const direct = new Float32Array(8);
  const counted = new Float32Array(8);
  referenceBackend.matmul(args(direct));
  counter.backend.matmul(args(counted));
  counter.backend.matmul(args(counted));
  assert.deepEqual(counted, direct);
  assert.equal(counter.flops(), 2 * (2 * 2 * 4 * 3));
  counter.reset();
  assert.equal(counter.flops(), 0);
});

test('a counted training step holds at least its linear layers and LM head, forward and input gradient', () => {
  const shape = { family: 'opt', d: 16, layers: 2, heads: 2, ffn: 32, vocab: 50 } as const;
  const r = benchTrainStep({
    ...shape,
    preset: null,
    dtype: 'f32',
    batch: 2,
    seq: 32,
    rank: 2,
    targets: ['q_proj', 'v_proj'],
    steps: 1,
    warmup: 1,
    backend: 'reference',
    profile: false,
  });
  const tokens = 2 * 32; // a long sequence for the width: attention is a fifth of the work
  const linear = shape.layers * (4 * shape.d * shape.d + 2 * shape.d * shape.ffn) + shape.d * shape.vocab;
  // forward 2P per token; the input gradient skips only layer 0's q, k, v (nothing below trains)
  const lower = 2 * tokens * linear + 2 * tokens * (linear - 3 * shape.d * shape.d);
  // per visible pair and model dimension: 4 forward, at least 6 backward (layer 0 needs no dK)
  const attention = shape.layers * 10 * shape.d * 2 * ((32 * 33) / 2);
  assert.ok(r.step_flops >= lower + attention, `${r.step_flops} < ${lower + attention}`);
  // LoRA's rank-2 products and the rest of the backward attention add little
  assert.ok(r.step_flops <= 1.1 * (lower + attention), `${r.step_flops} > 1.1 x ${lower + attention}`);
  assert.equal(r.matmul_gflops, null); // no probe off the native backend
});
