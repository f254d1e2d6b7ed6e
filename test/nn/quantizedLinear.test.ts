// QuantizedLinear (issue 17): its product equals a dense Linear on dequant(W) plus the
// frozen residual, forward and backward; appending and popping links is exact;
// re-quantizing reports the error it adds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as be } from '../../src/backend/reference/index.js';
import { dequantize, quantize } from '../../src/backend/quant/codec.js';
import { QUANT_FORMATS } from '../../src/backend/quant/format.js';
import { Linear } from '../../src/nn/linear.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { backward, noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const IN = 40; // not a multiple of 32: padded last blocks
const OUT = 6;

function layers(format: (typeof QUANT_FORMATS)[number]): { q: QuantizedLinear; dense: () => Linear } {
  const w = tensor(be, randn(OUT * IN, 1), [OUT, IN]);
  const b = tensor(be, randn(OUT, 2), [OUT]);
  const q = QuantizedLinear.fromLinear(new Linear(w, b), format);
  q.appendLink({ A: randn(2 * IN, 3), B: randn(OUT * 2, 4), r: 2, scale: 0.5 });
  q.appendLink({ A: randn(3 * IN, 5), B: randn(OUT * 3, 6), r: 3, scale: 2 });
  const dense = () => new Linear(tensor(be, q.effectiveWeight(), [OUT, IN]), tensor(be, b.f32, [OUT], 'f32', true));
  return { q, dense };
}

for (const format of QUANT_FORMATS) {
  test(`${format}: forward and input / bias gradients equal a dense Linear on dequant(W) + residual`, () => {
    const { q, dense } = layers(format);
    q.bias!.requiresGrad = true;
    const d = dense();
    const g = tensor(be, randn(3 * OUT, 8), [3, OUT]);
    const grads = (l: Linear | QuantizedLinear) => {
      const x = tensor(be, randn(3 * IN, 7), [3, IN], 'f32', true);
      const y = l.forward(x);
      backward(y, g);
      return { y: y.f32.slice(), dx: x.grad!.f32.slice(), db: l.bias!.grad!.f32.slice() };
    };
    const got = grads(q);
    const want = grads(d);
    assertClose(got.y, want.y, { dtype: 'f32', what: 'y' });
    assertClose(got.dx, want.dx, { dtype: 'f32', what: 'dx' });
    assertClose(got.db, want.db, { dtype: 'f32', what: 'db' });
  });
}

// A quantized block runs the fused ops a dense one does (tensor/ops/layerWeight.ts:
// linearRelu, residualLinear, loraLinear), so it keeps one output per layer, not the
// product, its ReLU input and a LoRA branch beside it. The fused forms must give the
// composed numbers, forward and backward (the dense Linear on dequant(W) + residual
// runs the same fused ops on a dense weight).
for (const format of ['nf4', 'q8_0'] as const) {
  test(`${format}: a ReLU after, a residual around and LoRA on a quantized layer equal them on the dense layer`, () => {
    const { q, dense } = layers(format);
    const g = tensor(be, randn(3 * OUT, 9), [3, OUT]);
    const h = () => tensor(be, randn(3 * OUT, 10), [3, OUT], 'f32', true);
    const lora = (base: Linear | QuantizedLinear) => {
      const l = new LoraLinear(base, { r: 2, alpha: 4, dropout: 0, useRslora: false, init: 'kaiming', seed: 3 });
      l.lora_B.f32.set(randn(OUT * 2, 11)); // a trained B: the branch is not zero
      return l;
    };
    type Run = (l: Linear | QuantizedLinear | LoraLinear, x: Tensor) => Tensor;
    const cases: [string, Run, boolean][] = [
      ['relu', (l, x) => l.forward(x, { activation: 'relu' }), false],
      ['residual', (l, x) => l.forward(x, { residual: residualOf(l) }), false],
      ['lora', (l, x) => l.forward(x), true],
      ['lora + residual', (l, x) => l.forward(x, { residual: residualOf(l) }), true],
    ];
    const residuals = new Map<object, Tensor>();
    const residualOf = (l: object) => residuals.get(l)!;
    for (const [what, run, withLora] of cases) {
      const results = [q, dense()].map((base) => {
        const l = withLora ? lora(base) : base;
        residuals.set(l, h());
        const x = tensor(be, randn(3 * IN, 7), [3, IN], 'f32', true);
        const y = run(l, x);
        backward(y, g);
        const extra = l instanceof LoraLinear ? [l.lora_A.grad!.f32.slice(), l.lora_B.grad!.f32.slice()] : [];
        if (l instanceof LoraLinear) l.zeroGrad();
        return { y: y.f32.slice(), dx: x.grad!.f32.slice(), dh: residualOf(l).grad?.f32.slice(), extra };
      });
      const [got, want] = results as [(typeof results)[0], (typeof results)[0]];
      assertClose(got.y, want.y, { dtype: 'f32', what: `${what} y` });
      assertClose(got.dx, want.dx, { dtype: 'f32', what: `${what} dx` });
      if (what.includes('residual')) assertClose(got.dh!, want.dh!, { dtype: 'f32', what: `${what} d residual` });
      got.extra.forEach((a, i) => assertClose(a, want.extra[i]!, { dtype: 'f32', what: `${what} LoRA grad ${i}` }));
    }
    if (q.bias) q.bias.grad = null;
  });
}

test('effectiveWeight is dequant(W) + Σ s_j B_j A_j; popLink removes exactly the last link', () => {
  const w = randn(OUT * IN, 11);
  const q = new QuantizedLinear(quantize(w, OUT, IN, 'q8_0'), null, be);
  const base = dequantize(q.weight);
  const A = randn(2 * IN, 12);
  const B = randn(OUT * 2, 13);
  q.appendLink({ A, B, r: 2, scale: 0.25 });
  const eff = q.effectiveWeight();
  for (let o = 0; o < OUT; o++)
    for (let i = 0; i < IN; i++) {
      let acc = 0;
      for (let k = 0; k < 2; k++) acc += 0.25 * B[o * 2 + k]! * A[k * IN + i]!;
      assert.ok(Math.abs(eff[o * IN + i]! - (base[o * IN + i]! + acc)) < 1e-5);
    }
  const x = tensor(be, randn(IN, 14), [1, IN]);
  const one = noGrad(() => q.forward(x)).f32.slice();
  q.appendLink({ A: randn(IN, 15), B: randn(OUT, 16), r: 1, scale: 3 });
  assert.equal(q.residualRank, 3);
  q.popLink();
  assert.deepEqual(noGrad(() => q.forward(x)).f32, one);
  q.popLink();
  assert.deepEqual(q.effectiveWeight(), base);
  assert.throws(() => q.popLink(), /no merged link/);
});

test('requantize folds the residual and a delta into new codes and reports the relative error it added', () => {
  const q = new QuantizedLinear(quantize(randn(OUT * IN, 21), OUT, IN, 'q4_0'), null, be);
  q.appendLink({ A: randn(IN, 22), B: randn(OUT, 23), r: 1, scale: 0.1 });
  const delta = randn(OUT * IN, 24).map((v) => v * 0.05);
  const exact = q.effectiveWeight().map((v, i) => v + delta[i]!);
  const err = q.requantize(delta);
  assert.equal(q.residualRank, 0);
  const got = q.effectiveWeight();
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i]! - exact[i]!) ** 2;
    den += exact[i]! ** 2;
  }
  assert.ok(err > 0 && err < 0.2, `q4_0 re-quantization error ${err}`);
  assert.ok(Math.abs(err - Math.sqrt(num / den)) < 1e-6);
});

test('int8g (a llama2.c int8 layer): the product equals dense dequant(W); requantize keeps the group size', () => {
  const w = quantize(randn(OUT * IN, 31), OUT, IN, 'int8g', { groupSize: 8 });
  const q = new QuantizedLinear(w, null, be);
  const d = new Linear(tensor(be, dequantize(w), [OUT, IN]), null);
  const x = tensor(be, randn(2 * IN, 32), [2, IN]);
  noGrad(() => assert.deepEqual(q.forward(x).f32, d.forward(x).f32));
  q.requantize(randn(OUT * IN, 33).map((v) => v * 0.01));
  assert.equal(q.weight.format, 'int8g');
  assert.equal(q.weight.groupSize, 8);
  assert.equal(q.bytes, OUT * IN + 4 * OUT * (IN / 8));
});
