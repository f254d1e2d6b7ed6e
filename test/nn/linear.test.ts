// Linear.forward(x, { activation, residual }) and LoraLinear's same options: the
// fused kernels they pick give exactly the bits of the composed ops
// (residual + act(x W^T + b)), forward and backward, on every backend, for every
// weight/bias dtype; native and reference agree (the fused paths' conformance).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { activate, type Activation } from '../../src/nn/activation.js';
import { Linear, type LinearLike, type LinearOptions } from '../../src/nn/linear.js';
import { cast, tensor } from '../../src/tensor/ops/creation.js';
import { add } from '../../src/tensor/ops/elementwise.js';
import { linear } from '../../src/tensor/ops/matmul.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/random.js';
import { assertClose } from '../helpers/tolerance.js';

const native = loadNativeBackend();
const backends: Backend[] = native ? [ref, native] : [ref];
const [rows, inF, outF, r] = [7, 12, 10, 3];

interface Case {
  what: string;
  opts: { activation?: Activation; residual?: true };
  weight: 'f32' | 'bf16';
  bias: 'f32' | 'bf16' | null;
  lora: boolean;
}

const CASES: Case[] = [];
for (const lora of [false, true])
  for (const weight of ['f32', 'bf16'] as const)
    for (const bias of ['f32', 'bf16', null] as const)
      for (const opts of [
        {},
        { activation: 'relu' as const },
        { activation: 'gelu_tanh' as const },
        { residual: true as const },
        { activation: 'relu' as const, residual: true as const },
      ])
        CASES.push({
          what: `${lora ? 'LoraLinear' : 'Linear'} W ${weight} b ${bias ?? 'none'} ${JSON.stringify(opts)}`,
          opts,
          weight,
          bias,
          lora,
        });

interface Run {
  y: Float32Array;
  grads: Float32Array[];
}

/** One case on `be`: the layer's own forward (fused), or for a plain Linear the
 * composed ops. */
function run(be: Backend, c: Case, composed: boolean): Run {
  const x = tensor(be, randn(rows * inF, 1), [rows, inF], 'f32', true);
  const res = tensor(be, randn(rows * outF, 2), [rows, outF], 'f32', true);
  const w = cast(tensor(be, randn(outF * inF, 3), [outF, inF]), c.weight);
  const b = c.bias ? cast(tensor(be, randn(outF, 4), [outF]), c.bias) : null;
  let layer: LinearLike = new Linear(w, b);
  let lora: LoraLinear | null = null;
  if (c.lora) {
    lora = new LoraLinear(layer as Linear, { r, alpha: 6, dropout: 0, useRslora: false, init: 'kaiming', seed: 5 });
    lora.lora_B.assign(randn(lora.lora_B.size, 6)); // a nonzero LoRA path
    layer = lora;
  }
  const opts: LinearOptions = { activation: c.opts.activation, residual: c.opts.residual ? res : undefined };
  let y: Tensor;
  if (!composed) y = layer.forward(x, opts);
  else {
    assert.equal(lora, null, 'the composed form is written for a plain Linear');
    const z0 = linear(x, w, b);
    const z = opts.activation ? activate(z0, opts.activation) : z0;
    y = opts.residual ? add(opts.residual, z) : z;
  }
  y.backward(tensor(be, randn(y.size, 7), y.shape));
  const grads = [x, ...(opts.residual ? [res] : []), ...(lora ? [lora.lora_A] : [])].map((t) => Float32Array.from(t.grad!.f32));
  return { y: Float32Array.from(y.f32), grads };
}

for (const be of backends) {
  describe(`fused linear options on ${be.name}: the composed ops' exact bits`, () => {
    for (const c of CASES.filter((c) => !c.lora)) {
      test(c.what, () => {
        const fused = run(be, c, false);
        const plain = run(be, c, true);
        assert.deepEqual(fused.y, plain.y, 'output');
        fused.grads.forEach((g, i) => assert.deepEqual(g, plain.grads[i], `gradient ${i}`));
      });
    }
  });
}

describe('fused linear options: native against reference', { skip: native ? false : 'native addon not built' }, () => {
  for (const c of CASES) {
    test(c.what, () => {
      const got = run(native!, c, false);
      const want = run(ref, c, false);
      const dtype = c.weight === 'bf16' || c.bias === 'bf16' ? 'bf16' : 'f32';
      assertClose(got.y, want.y, { dtype, what: `${c.what} output` });
      got.grads.forEach((g, i) => assertClose(g, want.grads[i]!, { dtype, what: `${c.what} gradient ${i}` }));
    });
  }
});

test('LoraLinear with the options = Linear with the options plus the LoRA path (residual fused in place)', () => {
  for (const be of backends) {
    for (const c of CASES.filter((c) => c.lora && c.opts.residual && !c.opts.activation)) {
      // residual + (base + lora) rounds like add(residual, base + lora): the same bits
      const fused = run(be, c, false);
      const noResidual = run(be, { ...c, opts: {} }, false);
      const res = randn(rows * outF, 2);
      const want = Float32Array.from(noResidual.y, (v, i) => Math.fround(res[i]! + v));
      assert.deepEqual(fused.y, want, `${be.name} ${c.what}`);
    }
  }
});

test('LoraLinear with a ReLU (fused in place) = relu of LoraLinear without it: the same bits, forward and backward', () => {
  for (const be of backends) {
    for (const c of CASES.filter((c) => c.lora && c.opts.activation === 'relu' && !c.opts.residual)) {
      const fused = run(be, c, false);
      // composed: the LoRA layer's plain output, then a separate ReLU op
      const x = tensor(be, randn(rows * inF, 1), [rows, inF], 'f32', true);
      const w = cast(tensor(be, randn(outF * inF, 3), [outF, inF]), c.weight);
      const b = c.bias ? cast(tensor(be, randn(outF, 4), [outF]), c.bias) : null;
      const lora = new LoraLinear(new Linear(w, b), { r, alpha: 6, dropout: 0, useRslora: false, init: 'kaiming', seed: 5 });
      lora.lora_B.assign(randn(lora.lora_B.size, 6));
      const y = activate(lora.forward(x), 'relu');
      y.backward(tensor(be, randn(y.size, 7), y.shape));
      assert.ok(fused.y.some((v) => v === 0) && fused.y.some((v) => v > 0), 'the ReLU cuts some outputs and keeps others');
      assert.deepEqual(fused.y, Float32Array.from(y.f32), `${be.name} ${c.what} output`);
      assert.deepEqual(fused.grads[0], Float32Array.from(x.grad!.f32), `${be.name} ${c.what} dx`);
      assert.deepEqual(fused.grads[1], Float32Array.from(lora.lora_A.grad!.f32), `${be.name} ${c.what} dA`);
    }
  }
});
