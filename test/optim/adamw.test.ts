// The AdamW optimizer object (the update rule itself: test/backend/reference/adamw.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { parameter } from '../../src/tensor/ops/creation.js';

function stepped(rate: number | undefined, optLr: number): Float32Array {
  const p = parameter(ref, [1, -2], [2]);
  const opt = new AdamW([p], { lr: optLr, weightDecay: 0.1 });
  p.grad = parameter(ref, [0.5, -3], [2]);
  if (rate === undefined) opt.step();
  else opt.step(rate);
  return p.f32;
}

test('step() without a rate uses the constructor lr; an explicit rate wins', () => {
  // first Adam step moves each weight by lr * sign(g) after decay by (1 - lr * wd): by hand, with lr 0.1
  const want = [1 * (1 - 0.01) - 0.1, -2 * (1 - 0.01) + 0.1];
  stepped(undefined, 0.1).forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6, `${x} vs ${want[i]}`));
  assert.deepEqual(stepped(undefined, 0.1), stepped(0.1, 5));
  assert.notDeepEqual(stepped(undefined, 0.1), stepped(undefined, 0.2));
});

test('a new optimizer starts empty: moments zero, t = 0; step() counts t and skips parameters without a gradient', () => {
  const [p, q] = [parameter(ref, [1, 2], [2]), parameter(ref, [3], [1])];
  const opt = new AdamW([p, q], { lr: 0.1 });
  assert.equal(opt.t, 0);
  assert.ok([...opt.m, ...opt.v].every((x) => x.every((v) => v === 0)));
  p.grad = parameter(ref, [1, 1], [2]);
  opt.step();
  assert.equal(opt.t, 1);
  assert.deepEqual(q.f32, Float32Array.from([3]), 'no gradient, no update');
  assert.deepEqual(opt.m[1], new Float32Array(1));
  assert.ok(p.f32[0] !== 1 && p.f32[1] !== 2);
});

test('param groups: a group at lrScale k steps exactly like lr * k (LoRA+); every parameter in exactly one group', () => {
  const run = (scale: number, lr: number): Float32Array => {
    const [a, b] = [parameter(ref, [1, -2], [2]), parameter(ref, [0.5], [1])];
    const opt = new AdamW([a, b], {
      lr,
      weightDecay: 0.1,
      groups: [
        { name: 'lora_A', params: [a], lrScale: 1 },
        { name: 'lora_B', params: [b], lrScale: scale },
      ],
    });
    for (let i = 0; i < 3; i++) {
      a.grad = parameter(ref, [0.5, -3], [2]);
      b.grad = parameter(ref, [0.7 - i], [1]);
      opt.step();
    }
    return Float32Array.from([...a.f32, ...b.f32]);
  };
  const plus = run(16, 0.01);
  const plainSmall = run(1, 0.01);
  const plainBig = run(1, 0.16);
  assert.deepEqual(plus.subarray(0, 2), plainSmall.subarray(0, 2), 'A moves at lr');
  assert.deepEqual(plus.subarray(2), plainBig.subarray(2), 'B moves at lr * 16');
  const [a, b] = [parameter(ref, [1], [1]), parameter(ref, [2], [1])];
  assert.throws(() => new AdamW([a, b], { lr: 0.1, groups: [{ name: 'x', params: [a], lrScale: 1 }] }), /exactly the optimized parameters/);
  assert.throws(() => new AdamW([a], { lr: 0.1, groups: [{ name: 'x', params: [a], lrScale: 0 }] }), /lrScale 0/);
});
