import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionShape } from '../../../src/backend/backend.js';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';
import { checkGradient } from '../../helpers/gradcheck.js';
import { randn } from '../../helpers/random.js';
import { assertClose } from '../../helpers/tolerance.js';

function run(q: Float32Array, k: Float32Array, v: Float32Array, args: AttentionShape) {
  const out = new Float32Array(args.batch * args.headsQ * args.seqQ * args.headDim);
  const lse = new Float32Array(args.batch * args.headsQ * args.seqQ);
  ref.attention({ q, k, v, out, lse, ...args });
  return { out, lse };
}

function sizes(a: AttentionShape) {
  return { q: a.batch * a.headsQ * a.seqQ * a.headDim, kv: a.batch * a.headsKv * a.seqKv * a.headDim };
}

test('attention: with one key every query returns v, lse = scale q.k', () => {
  const args: AttentionShape = { batch: 1, headsQ: 1, headsKv: 1, seqQ: 2, seqKv: 1, headDim: 3, scale: 0.5, causal: true };
  const q = new Float32Array([1, 2, 3, -1, 0, 1]);
  const k = new Float32Array([1, 1, 1]);
  const v = new Float32Array([4, 5, 6]);
  const { out, lse } = run(q, k, v, { ...args, seqQ: 1 });
  assert.deepEqual(Array.from(out), [4, 5, 6]);
  assertClose(lse, [3], { dtype: 'f32', what: 'lse' });
  const both = run(q, k, v, { ...args, causal: false }); // two queries, one key
  assert.deepEqual(Array.from(both.out), [4, 5, 6, 4, 5, 6]);
});

test('attention: causal query i sees keys 0..Tk-Tq+i (equal scores average them)', () => {
  // q = 0 makes every score 0, so each output is the mean of the visible values.
  const args: AttentionShape = { batch: 1, headsQ: 1, headsKv: 1, seqQ: 2, seqKv: 4, headDim: 1, scale: 1, causal: true };
  const v = new Float32Array([1, 2, 4, 8]);
  const { out, lse } = run(new Float32Array(2), new Float32Array(4), v, args);
  assertClose(out, [(1 + 2 + 4) / 3, (1 + 2 + 4 + 8) / 4], { dtype: 'f32', what: 'causal means' });
  assertClose(lse, [Math.log(3), Math.log(4)], { dtype: 'f32', what: 'causal lse' });
});

test('attention: grouped-query heads equal full attention with kv heads repeated', () => {
  const gqa: AttentionShape = { batch: 2, headsQ: 4, headsKv: 2, seqQ: 3, seqKv: 5, headDim: 7, scale: 0.3, causal: true };
  const n = sizes(gqa);
  const [q, k, v] = [randn(n.q, 1), randn(n.kv, 2), randn(n.kv, 3)];
  // Repeat each kv head for its group: [B, Hkv, Tk, D] -> [B, Hq, Tk, D].
  const block = gqa.seqKv * gqa.headDim; // one head's [Tk, D]
  const group = gqa.headsQ / gqa.headsKv;
  const repeat = (x: Float32Array) => {
    const out = new Float32Array(gqa.batch * gqa.headsQ * block);
    for (let b = 0; b < gqa.batch; b++) {
      for (let h = 0; h < gqa.headsQ; h++) {
        const from = (b * gqa.headsKv + Math.floor(h / group)) * block;
        out.set(x.subarray(from, from + block), (b * gqa.headsQ + h) * block);
      }
    }
    return out;
  };
  const grouped = run(q, k, v, gqa);
  const full = run(q, repeat(k), repeat(v), { ...gqa, headsKv: gqa.headsQ });
  assert.deepEqual(grouped.out, full.out);
  assert.deepEqual(grouped.lse, full.lse);
});

test('attention: a sliding window of w keys hides keys at positions <= p - w (HF sliding_window_overlay)', () => {
  // q = 0 makes every score 0: each output is the mean of the values the query sees.
  const args: AttentionShape = { batch: 1, headsQ: 1, headsKv: 1, seqQ: 4, seqKv: 4, headDim: 1, scale: 1, causal: true, window: 2 };
  const v = new Float32Array([1, 2, 4, 8]);
  const { out } = run(new Float32Array(4), new Float32Array(4), v, args);
  assertClose(out, [1, (1 + 2) / 2, (2 + 4) / 2, (4 + 8) / 2], { dtype: 'f32', what: 'window 2 means' });
  // a window at least as long as the sequence changes nothing
  const [q, k] = [randn(4, 40), randn(4, 41)];
  assert.deepEqual(run(q, k, v, { ...args, window: 4 }).out, run(q, k, v, { ...args, window: undefined }).out);
  // with a KV cache, query i sits at position Tk - Tq + i
  const cached = run(new Float32Array(1), new Float32Array(4), v, { ...args, seqQ: 1, window: 3 });
  assertClose(cached.out, [(2 + 4 + 8) / 3], { dtype: 'f32', what: 'window with cache' });
  assert.throws(() => run(q, k, v, { ...args, causal: false }), /window .* needs causal/);
});

test('attention: softcap c gives the attention of the scores c tanh(s / c)', () => {
  // one query, two keys with scores s0, s1: out = softmax(capped) . v
  const args: AttentionShape = { batch: 1, headsQ: 1, headsKv: 1, seqQ: 1, seqKv: 2, headDim: 1, scale: 1, causal: false, softcap: 2 };
  const { out, lse } = run(new Float32Array([3]), new Float32Array([1, -0.5]), new Float32Array([1, 0]), args);
  const [s0, s1] = [2 * Math.tanh(3 / 2), 2 * Math.tanh(-1.5 / 2)];
  assertClose(out, [Math.exp(s0) / (Math.exp(s0) + Math.exp(s1))], { dtype: 'f32', what: 'softcapped attention' });
  assertClose(lse, [Math.log(Math.exp(s0) + Math.exp(s1))], { dtype: 'f32', what: 'softcapped lse' });
});

const BACKWARD_CASES: [string, Partial<AttentionShape>][] = [
  ['causal true', { causal: true }],
  ['causal false', { causal: false }],
  ['causal, window 2, softcap 1.5', { causal: true, window: 2, softcap: 1.5 }],
];
for (const [name, opts] of BACKWARD_CASES) {
  test(`attentionBackward (${name}, GQA, Tq < Tk): dq, dk, dv match finite differences`, () => {
    const args: AttentionShape = {
      batch: 2,
      headsQ: 4,
      headsKv: 2,
      seqQ: 3,
      seqKv: 5,
      headDim: 7,
      scale: 1 / Math.sqrt(7),
      causal: true,
      ...opts,
    };
    const n = sizes(args);
    const [q, k, v] = [randn(n.q, 4), randn(n.kv, 5), randn(n.kv, 6)];
    const w = randn(n.q, 7);
    const { out, lse } = run(q, k, v, args);
    const [dq, dk, dv] = [new Float32Array(n.q).fill(NaN), new Float32Array(n.kv).fill(NaN), new Float32Array(n.kv).fill(NaN)];
    ref.attentionBackward({ q, k, v, out, lse, dOut: w, dq, dk, dv, ...args }); // overwrites the NaNs
    const forward = () => run(q, k, v, args).out;
    checkGradient({ what: 'attention dq', input: q, weights: w, analytic: dq, forward });
    checkGradient({ what: 'attention dk', input: k, weights: w, analytic: dk, forward });
    checkGradient({ what: 'attention dv', input: v, weights: w, analytic: dv, forward });
    const onlyDv = new Float32Array(n.kv);
    ref.attentionBackward({ q, k, v, out, lse, dOut: w, dq: null, dk: null, dv: onlyDv, ...args });
    assert.deepEqual(onlyDv, dv);
  });
}

test("attention: layout 'bthd' equals 'bhtd' on transposed storage, forward and backward", () => {
  const a: AttentionShape = { batch: 2, headsQ: 4, headsKv: 2, seqQ: 3, seqKv: 5, headDim: 2, scale: 0.7, causal: true };
  const n = sizes(a);
  const [q, k, v, dOut] = [randn(n.q, 31), randn(n.kv, 32), randn(n.kv, 33), randn(n.q, 34)];
  // [B, H, T, D] <-> [B, T, H, D]
  const swap = (x: Float32Array, B: number, H: number, T: number, D: number, toBthd: boolean) => {
    const y = new Float32Array(x.length);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++)
          for (let d = 0; d < D; d++) {
            const bhtd = ((b * H + h) * T + t) * D + d;
            const bthd = ((b * T + t) * H + h) * D + d;
            if (toBthd) y[bthd] = x[bhtd];
            else y[bhtd] = x[bthd];
          }
    return y;
  };
  const qT = swap(q, a.batch, a.headsQ, a.seqQ, a.headDim, true);
  const kT = swap(k, a.batch, a.headsKv, a.seqKv, a.headDim, true);
  const vT = swap(v, a.batch, a.headsKv, a.seqKv, a.headDim, true);
  const plain = run(q, k, v, a);
  const t = run(qT, kT, vT, { ...a, layout: 'bthd' });
  assertClose(swap(t.out, a.batch, a.headsQ, a.seqQ, a.headDim, false), plain.out, { dtype: 'f32', what: 'bthd out' });
  assertClose(t.lse, plain.lse, { dtype: 'f32', what: 'bthd lse' });
  const grads = (
    layout: 'bhtd' | 'bthd',
    qq: Float32Array,
    kk: Float32Array,
    vv: Float32Array,
    o: Float32Array,
    lse: Float32Array,
    g: Float32Array,
  ) => {
    const dq = new Float32Array(n.q),
      dk = new Float32Array(n.kv),
      dv = new Float32Array(n.kv);
    ref.attentionBackward({ q: qq, k: kk, v: vv, out: o, lse, dOut: g, dq, dk, dv, ...a, layout });
    return { dq, dk, dv };
  };
  const gp = grads('bhtd', q, k, v, plain.out, plain.lse, dOut);
  const gt = grads('bthd', qT, kT, vT, t.out, t.lse, swap(dOut, a.batch, a.headsQ, a.seqQ, a.headDim, true));
  assertClose(swap(gt.dq, a.batch, a.headsQ, a.seqQ, a.headDim, false), gp.dq, { dtype: 'f32', what: 'bthd dq' });
  assertClose(swap(gt.dk, a.batch, a.headsKv, a.seqKv, a.headDim, false), gp.dk, { dtype: 'f32', what: 'bthd dk' });
  assertClose(swap(gt.dv, a.batch, a.headsKv, a.seqKv, a.headDim, false), gp.dv, { dtype: 'f32', what: 'bthd dv' });
});

// Packed sequences (issue 18): keyStart gives each query the first key of its segment.
const PACKED: AttentionShape = {
  batch: 2,
  headsQ: 4,
  headsKv: 2,
  seqQ: 7,
  seqKv: 7,
  headDim: 5,
  scale: 0.4,
  causal: true,
  // row 0: segments [0,3) [3,7); row 1: [0,2) [2,5) [5,7)
  keyStart: new Int32Array([0, 0, 0, 3, 3, 3, 3, 0, 0, 2, 2, 2, 5, 5]),
};

test('attention with keyStart equals attending each packed segment on its own', () => {
  const n = sizes(PACKED);
  const [q, k, v] = [randn(n.q, 11), randn(n.kv, 12), randn(n.kv, 13)];
  const packed = run(q, k, v, PACKED);
  const { headsQ: Hq, headsKv: Hkv, seqQ: T, headDim: D } = PACKED;
  const segments = [
    [0, 0, 3],
    [0, 3, 7],
    [1, 0, 2],
    [1, 2, 5],
    [1, 5, 7],
  ];
  for (const [b, s0, s1] of segments) {
    const len = s1 - s0;
    // [B, H, T, D] -> one segment's [1, H, len, D]
    const cut = (x: Float32Array, H: number) => {
      const out = new Float32Array(H * len * D);
      for (let h = 0; h < H; h++) out.set(x.subarray(((b * H + h) * T + s0) * D, ((b * H + h) * T + s1) * D), h * len * D);
      return out;
    };
    const alone = run(cut(q, Hq), cut(k, Hkv), cut(v, Hkv), { ...PACKED, batch: 1, seqQ: len, seqKv: len, keyStart: undefined });
    assertClose(cut(packed.out, Hq), alone.out, { dtype: 'f32', what: `segment ${b}:${s0}-${s1} out` });
    const lse = new Float32Array(Hq * len);
    for (let h = 0; h < Hq; h++) lse.set(packed.lse.subarray((b * Hq + h) * T + s0, (b * Hq + h) * T + s1), h * len);
    assertClose(lse, alone.lse, { dtype: 'f32', what: `segment ${b}:${s0}-${s1} lse` });
  }
});

test('attentionBackward with keyStart (packed, GQA): dq, dk, dv match finite differences', () => {
  const n = sizes(PACKED);
  const [q, k, v] = [randn(n.q, 14), randn(n.kv, 15), randn(n.kv, 16)];
  const w = randn(n.q, 17);
  const { out, lse } = run(q, k, v, PACKED);
  const [dq, dk, dv] = [new Float32Array(n.q).fill(NaN), new Float32Array(n.kv).fill(NaN), new Float32Array(n.kv).fill(NaN)];
  ref.attentionBackward({ q, k, v, out, lse, dOut: w, dq, dk, dv, ...PACKED });
  const forward = () => run(q, k, v, PACKED).out;
  checkGradient({ what: 'packed attention dq', input: q, weights: w, analytic: dq, forward });
  checkGradient({ what: 'packed attention dk', input: k, weights: w, analytic: dk, forward });
  checkGradient({ what: 'packed attention dv', input: v, weights: w, analytic: dv, forward });
});

test('attention refuses a keyStart of the wrong length or out of range', () => {
  const n = sizes(PACKED);
  const [q, k, v] = [randn(n.q, 1), randn(n.kv, 2), randn(n.kv, 3)];
  assert.throws(() => run(q, k, v, { ...PACKED, keyStart: new Int32Array(3) }), /keyStart has 3 entries/);
  assert.throws(() => run(q, k, v, { ...PACKED, keyStart: new Int32Array(14).fill(8) }), /keyStart 8 is outside 0\.\.7/);
});
