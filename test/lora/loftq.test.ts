// LoftQ (lora/loftq.ts, PEFT's init_lora_weights="loftq"): the codes and the first adapter
// approximate W better than round-to-nearest alone, s B A is exactly the best rank-r
// approximation of the quantization error (Eckart-Young: a wrong sign or scale breaks it),
// one alternation keeps RTN's codes, a wrapped layer starts at dequant(Q) + s B A with later
// links plain, and adapter_config.json round-trips "loftq" + loftq_config.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dequantize, quantize } from '../../src/backend/quant/codec.js';
import type { QuantFormat } from '../../src/backend/quant/format.js';
import { ColaError } from '../../src/errors.js';
import { Linear } from '../../src/nn/linear.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { loftqInit, loftqIterOf } from '../../src/lora/loftq.js';
import { LoraLinear } from '../../src/lora/loraLinear.js';
import { parsePeftConfig, peftConfigJson } from '../../src/lora/peftConfig.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { randn } from '../helpers/random.js';
import { be, loraConfig } from './tinyModel.js';

const OUT = 48;
const IN = 64;
const R = 4;
const SCALE = 2; // alpha 8 / r 4: a scale != 1 so a missing division by s shows
const FORMATS: QuantFormat[] = ['nf4', 'q4_0', 'int8', 'q8_0'];
const W = randn(OUT * IN, 17);

/** s B A, f64 [out, in] */
function product(A: Float32Array, B: Float32Array, r: number, s: number): Float64Array {
  const d = new Float64Array(OUT * IN);
  for (let o = 0; o < OUT; o++)
    for (let k = 0; k < r; k++) for (let i = 0; i < IN; i++) d[o * IN + i] += s * B[o * r + k]! * A[k * IN + i]!;
  return d;
}

function sq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! ** 2;
  return s;
}

const rtnQuantizer = (format: QuantFormat) => (values: Float32Array) => quantize(values, OUT, IN, format);

for (const format of FORMATS) {
  test(`${format}: ||dequant(Q) + s B A - W|| < ||dequant(RTN(W)) - W||, and s B A is the best rank-r fit of the error`, () => {
    const rtnError = sq(dequantize(quantize(W, OUT, IN, format)).map((v, i) => v - W[i]!));
    for (const iter of [1, 3]) {
      const f = loftqInit({ weight: W, out: OUT, inF: IN, r: R, scale: SCALE, iter, quantize: rtnQuantizer(format) });
      const deq = dequantize(f.codes);
      const sba = product(f.A, f.B, R, SCALE);
      const E = Float64Array.from(W, (w, i) => w - deq[i]!); // W - dequant(Q)
      const loftqError = sq(E.map((e, i) => e - sba[i]!));
      assert.ok(loftqError < 0.95 * rtnError, `iter ${iter}: LoftQ ${loftqError} vs RTN ${rtnError}`);
      // Eckart-Young: s B A is the orthogonal projection of E on its top-r singular space,
      // so ||E - s B A||^2 = ||E||^2 - ||s B A||^2 (fails for a flipped sign or a wrong scale)
      const pythagoras = sq(E) - sq(sba);
      assert.ok(Math.abs(loftqError - pythagoras) <= 1e-4 * sq(E), `iter ${iter}: ${loftqError} vs ${pythagoras}`);
      // PiSSA's split: A and B carry sqrt(S / s) each (row norms of A = column norms of B)
      for (let k = 0; k < R; k++) {
        let a = 0;
        let b = 0;
        for (let i = 0; i < IN; i++) a += f.A[k * IN + i]! ** 2;
        for (let o = 0; o < OUT; o++) b += f.B[o * R + k]! ** 2;
        assert.ok(Math.abs(a - b) <= 1e-4 * a, `component ${k}: ||A_k||^2 ${a} vs ||B_k||^2 ${b}`);
      }
    }
  });
}

test('one alternation keeps the round-to-nearest codes (A = B = 0 start); more alternations change them', () => {
  for (const format of FORMATS) {
    const rtn = quantize(W, OUT, IN, format);
    const one = loftqInit({ weight: W, out: OUT, inF: IN, r: R, scale: SCALE, iter: 1, quantize: rtnQuantizer(format) });
    assert.deepEqual(one.codes.data, rtn.data, format);
    assert.deepEqual(one.codes.scales, rtn.scales, format);
    const three = loftqInit({ weight: W, out: OUT, inF: IN, r: R, scale: SCALE, iter: 3, quantize: rtnQuantizer(format) });
    assert.notDeepEqual(three.codes.data, rtn.data, format);
  }
});

test('LoftQ is deterministic given W (the codes a resume or `cola eval` rebuild)', () => {
  const a = loftqInit({ weight: W, out: OUT, inF: IN, r: R, scale: SCALE, iter: 3, quantize: rtnQuantizer('nf4') });
  const b = loftqInit({ weight: W.slice(), out: OUT, inF: IN, r: R, scale: SCALE, iter: 3, quantize: rtnQuantizer('nf4') });
  assert.deepEqual(a.codes.data, b.codes.data);
  assert.deepEqual(a.A, b.A);
  assert.deepEqual(a.B, b.B);
});

function denseLinear(): Linear {
  return new Linear(tensor(be, W, [OUT, IN], 'f32'), null);
}

const opts = { r: R, alpha: R * SCALE, dropout: 0, useRslora: false, seed: 5 };

test('a wrapped --quantize layer: codes replaced, adapter = the LoftQ factors, output = x (dequant(Q) + s B A)^T; later links start at B = 0', () => {
  const q = QuantizedLinear.fromLinear(denseLinear(), 'q4_0', {}, true);
  const layer = new LoraLinear(q, { ...opts, init: 'loftq_iter_2' });
  const expected = loftqInit({ weight: W, out: OUT, inF: IN, r: R, scale: SCALE, iter: 2, quantize: rtnQuantizer('q4_0') });
  assert.deepEqual(q.weight.data, expected.codes.data);
  assert.deepEqual(layer.lora_A.f32, expected.A);
  assert.deepEqual(layer.lora_B.f32, expected.B);
  assert.equal(layer.initFactors, null, 'nothing is folded into the base: the adapter is relative to dequant(Q)');
  assert.equal(q.takeDenseSource(), null, 'the dense weight is released once used');
  // the layer's output is the approximation of W
  const x = randn(3 * IN, 9);
  const y = layer.forward(tensor(be, x, [3, IN], 'f32')).f32;
  const approx = Float64Array.from(dequantize(q.weight)).map((v, i) => v + product(layer.lora_A.f32, layer.lora_B.f32, R, SCALE)[i]!);
  for (let n = 0; n < 3; n++)
    for (let o = 0; o < OUT; o++) {
      let e = 0;
      for (let i = 0; i < IN; i++) e += x[n * IN + i]! * approx[o * IN + i]!;
      assert.ok(Math.abs(y[n * OUT + o]! - e) <= 1e-4 * (1 + Math.abs(e)));
    }
  // a knot: the merged link joins the residual, the next link is a plain kaiming one
  layer.merge({ exactUnmerge: false });
  layer.resetAdapter(6, R, R * SCALE);
  assert.ok(layer.lora_B.f32.every((v) => v === 0));
  assert.ok(layer.lora_A.f32.some((v) => v !== 0));
});

test('LoftQ without a --quantize base, or on a base quantized without its dense weight, is a ColaError', () => {
  assert.throws(() => new LoraLinear(denseLinear(), { ...opts, init: 'loftq' }), ColaError);
  const q = QuantizedLinear.fromLinear(denseLinear(), 'nf4');
  assert.throws(() => new LoraLinear(q, { ...opts, init: 'loftq' }), /LoftQ\) chooses a quantized base's codes from the dense weights/);
});

test('adapter_config.json: init_lora_weights "loftq" + loftq_config round-trips; bad loftq_config is a ColaError', () => {
  for (const init of ['loftq', 'loftq_iter_5'] as const) {
    const cfg = loraConfig({ init });
    const json = peftConfigJson(cfg, [{ path: 'model.layers.0.self_attn.q_proj', r: 4, alpha: 8 }], 'base', 4);
    assert.equal(json['init_lora_weights'], 'loftq');
    assert.deepEqual(json['loftq_config'], { loftq_bits: 4, loftq_iter: loftqIterOf(init) });
    const back = parsePeftConfig(JSON.parse(JSON.stringify(json)) as Record<string, unknown>, 'adapter_config.json');
    assert.equal(back.init, init);
  }
  const base = peftConfigJson(loraConfig(), [{ path: 'q_proj', r: 4, alpha: 8 }], 'base');
  assert.equal(parsePeftConfig({ ...base, init_lora_weights: 'loftq' }, 'f').init, 'loftq', "PEFT's default loftq_iter is 1");
  assert.throws(
    () => parsePeftConfig({ ...base, init_lora_weights: 'loftq', loftq_config: { loftq_bits: 3, loftq_iter: 1 } }, 'f'),
    /loftq_config.loftq_bits must be 4 or 8/,
  );
  assert.throws(
    () => parsePeftConfig({ ...base, init_lora_weights: 'loftq', loftq_config: { loftq_bits: 4, loftq_iter: 0 } }, 'f'),
    /loftq_config.loftq_iter must be an integer/,
  );
});
