// Moments across a knot (src/optim/momentReset.ts): every mode on known moments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { ColaError } from '../../src/errors.js';
import { AdamW } from '../../src/optim/adamw.js';
import { carryMoments, installMoments, parseMomentReset, type CarriedMoments } from '../../src/optim/momentReset.js';
import { parameter } from '../../src/tensor/ops/creation.js';

/** An optimizer over a [2, 5] and a [3] parameter with hand-set moments and t = 7. */
function known(): AdamW {
  const opt = new AdamW([parameter(ref, new Float32Array(10), [2, 5]), parameter(ref, new Float32Array(3), [3])], { lr: 1 });
  opt.m[0]!.set([0.5, -0.1, 0.3, -0.9, 0.05, 0.2, -0.4, 0.7, -0.02, 0.6]);
  opt.m[1]!.set([-3, 1, 2]);
  opt.v[0]!.set([9, 1, 4, 2, 8, 3, 7, 5, 6, 10]);
  opt.v[1]!.set([0.3, 0.1, 0.2]);
  opt.t = 7;
  return opt;
}
const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

test('parseMomentReset: full, none, magnitude:P, random:P with P in [0, 1]; anything else names where and what was found', () => {
  assert.deepEqual(parseMomentReset('full', 'x'), { kind: 'full' });
  assert.deepEqual(parseMomentReset('none', 'x'), { kind: 'none' });
  assert.deepEqual(parseMomentReset('magnitude:0.99', 'x'), { kind: 'magnitude', ratio: 0.99 });
  assert.deepEqual(parseMomentReset('random:.5', 'x'), { kind: 'random', ratio: 0.5 });
  assert.deepEqual(parseMomentReset('random:1', 'x'), { kind: 'random', ratio: 1 });
  assert.deepEqual(parseMomentReset('magnitude:0', 'x'), { kind: 'magnitude', ratio: 0 });
  for (const bad of ['', 'Full', 'magnitude', 'magnitude:', 'magnitude:1.5', 'random:-0.1', 'random:0.5x', 'prune:0.5', 'magnitude:NaN'])
    assert.throws(
      () => parseMomentReset(bad, '--optimizer-reset'),
      (e: unknown) =>
        e instanceof ColaError &&
        e.message.startsWith('--optimizer-reset: expected full, none, magnitude:P or random:P with P in [0, 1]') &&
        e.message.includes(`got "${bad}"`),
      bad,
    );
});

test('full carries nothing: carryMoments returns null and the new optimizer is empty with t = 0', () => {
  const opt = known();
  assert.equal(carryMoments(opt, { kind: 'full' }, 1), null);
  const fresh = new AdamW(opt.params, { lr: 1 });
  assert.equal(fresh.t, 0);
  assert.ok([...fresh.m, ...fresh.v].every((x) => x.every((v) => v === 0)));
});

test('none carries copies of m, v and t unchanged; the old optimizer is not touched', () => {
  const opt = known();
  const c = carryMoments(opt, { kind: 'none' }, 1)!;
  assert.deepEqual(c, { m: known().m, v: known().v, t: 7 });
  c.m[0]![0] = 42;
  assert.equal(opt.m[0]![0], 0.5, 'carried arrays are copies');
  const next = new AdamW(opt.params, { lr: 1 });
  installMoments(next, carryMoments(opt, { kind: 'none' }, 1)!);
  assert.deepEqual([next.m, next.v, next.t], [known().m, known().v, 7]);
});

test('magnitude:p zeroes exactly floor(p n) smallest-|x| entries of each tensor on its own; t is carried', () => {
  const opt = known();
  const c = carryMoments(opt, { kind: 'magnitude', ratio: 0.5 }, 1)!;
  // m[0] |x| sorted: 0.02 (8), 0.05 (4), 0.1 (1), 0.2 (5), 0.3 (2) are the 5 smallest
  assert.deepEqual(c.m[0], f32([0.5, 0, 0, -0.9, 0, 0, -0.4, 0.7, 0, 0.6]));
  // m[1]: floor(1.5) = 1 entry: the 1
  assert.deepEqual(c.m[1], f32([-3, 0, 2]));
  // v[0]: the 5 smallest are 1, 2, 3, 4, 5
  assert.deepEqual(c.v[0], f32([9, 0, 0, 0, 8, 0, 7, 0, 6, 10]));
  assert.deepEqual(c.v[1], f32([0.3, 0, 0.2]));
  assert.equal(c.t, 7);
  assert.deepEqual(opt.m, known().m, 'the old optimizer keeps its moments');
  // ties go to the lower index; ratio 0 prunes nothing, ratio 1 everything
  const tie = known();
  tie.m[1]!.set([2, -2, 2]);
  assert.deepEqual(carryMoments(tie, { kind: 'magnitude', ratio: 0.5 }, 1)!.m[1], f32([0, -2, 2]));
  assert.deepEqual(carryMoments(opt, { kind: 'magnitude', ratio: 0 }, 1), { m: known().m, v: known().v, t: 7 });
  const all = carryMoments(opt, { kind: 'magnitude', ratio: 1 }, 1)!;
  assert.ok([...all.m, ...all.v].every((x) => x.every((v) => v === 0)));
});

test('random:p zeroes exactly floor(p n) entries of each tensor, leaves the rest as they were, and is seeded', () => {
  const opt = known();
  const zeros = (x: Float32Array): number[] => [...x.keys()].filter((i) => x[i] === 0);
  for (const ratio of [0, 0.3, 0.5, 0.99, 1]) {
    const c = carryMoments(opt, { kind: 'random', ratio }, 11)!;
    const original = [...known().m, ...known().v];
    [...c.m, ...c.v].forEach((x, j) => {
      assert.equal(zeros(x).length, Math.floor(ratio * x.length), `ratio ${ratio}, tensor ${j}: pruned count`);
      x.forEach((v, i) => assert.ok(v === 0 || v === original[j]![i], `ratio ${ratio}, tensor ${j}[${i}] kept as it was`));
    });
    assert.equal(c.t, 7);
  }
  const a = carryMoments(opt, { kind: 'random', ratio: 0.5 }, 11)!;
  assert.deepEqual(carryMoments(opt, { kind: 'random', ratio: 0.5 }, 11), a, 'same seed, same entries');
  const seeds = [12, 13, 14].map((s) => zeros(carryMoments(opt, { kind: 'random', ratio: 0.5 }, s)!.v[0]!).join());
  assert.ok(
    seeds.some((z) => z !== zeros(a.v[0]!).join()),
    'another seed picks other entries',
  );
  assert.notDeepEqual(zeros(a.m[0]!), zeros(a.v[0]!), 'm and v of one parameter are pruned independently');
});

test('installMoments: a shape mismatch is an error listing every mismatch; nothing is written', () => {
  const opt = known();
  const carried = carryMoments(opt, { kind: 'none' }, 1)!;
  const other = new AdamW([parameter(ref, new Float32Array(8), [2, 4]), parameter(ref, new Float32Array(2), [2])], { lr: 1 });
  assert.throws(
    () => installMoments(other, carried),
    /parameter 0: 8 values, carried m 10 and v 10; parameter 1: 2 values, carried m 3 and v 3/,
  );
  assert.equal(other.t, 0);
  assert.ok([...other.m, ...other.v].every((x) => x.every((v) => v === 0)));
  const fewer: CarriedMoments = { m: carried.m.slice(0, 1), v: carried.v.slice(0, 1), t: 7 };
  assert.throws(() => installMoments(new AdamW(opt.params, { lr: 1 }), fewer), /1 carried tensors for 2 parameters/);
});
