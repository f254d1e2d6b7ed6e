// calibrateQuantize (issue 17, --quantize-calibration): the layers --quantize replaces get
// GPTQ codes from the inputs the model's own forward pass gives them, block by block (each
// block on the outputs of the blocks before it, already quantized). Invariants: the same
// layers as round-to-nearest are replaced (the LM head stays), the temporary hooks are gone
// afterwards, the same calibration gives byte-identical weights, the codes are not
// round-to-nearest's, and each block's codes are GPTQ's on exactly the inputs the model
// with the earlier blocks quantized gives it.
import { test } from 'node:test';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/backend/index.js';
import { ColaError } from '../../src/errors.js';
import { calibrateQuantize, outerSum } from '../../src/models/calibrate.js';
import { GPTQ_MAX_IN, gptqQuantize } from '../../src/models/gptq.js';
import { Linear } from '../../src/nn/linear.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { loadModel } from '../../src/models/load.js';
import { quantizableLinears, quantizeModel } from '../../src/models/quantize.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { tinyModelFolder } from '../helpers/tinyFolder.js';

const backend = getBackend('reference');
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const folder = tinyModelFolder(29, { dim: 64, hiddenDim: 128 });
const dense = (): CausalLM => loadModel(folder, { backend });

function weights(m: CausalLM): Map<string, QuantizedLinear['weight']> {
  return new Map(
    [...m.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear).map(([p, l]) => [p, l.weight]),
  );
}

/** Two calibration batches of 2 x 16 tokens. */
const batchIds = [0, 1].map((b) => Array.from({ length: 2 * 16 }, (_, i) => (i * 37 + 5 + 11 * b) % 200));
const runBatch = (m: CausalLM, b: number): void => void m.hidden(tensor(backend, batchIds[b]!, [2, 16], 'i32'));

function calibrated(format: 'nf4' | 'q4_0'): { model: CausalLM; tokens: number; hooked: object[] } {
  const model = dense();
  const hooked = quantizableLinears(model).map(([, l]) => l);
  const r = calibrateQuantize(model, { format, examples: 4, batches: 2, forward: runBatch });
  return { model, tokens: r.tokens, hooked };
}

test('calibrateQuantize replaces the layers --quantize does, removes its hooks, and is deterministic', () => {
  for (const format of ['nf4', 'q4_0'] as const) {
    const a = calibrated(format);
    const rtn = dense();
    quantizeModel(rtn, format);
    assert.deepEqual([...weights(a.model).keys()], [...weights(rtn).keys()], 'the same layers (not the LM head)');
    assert.equal(a.tokens, 64);
    assert.equal(a.model.quantizeOnLoad, format);
    assert.equal(a.model.quantizeCalibration, 4);
    for (const lin of a.hooked) assert.equal(Object.hasOwn(lin, 'forward'), false, 'the input hook is removed');
    assert.deepEqual(weights(calibrated(format).model), weights(a.model), `${format}: same calibration, same bytes`);
    const differ = [...weights(a.model)].filter(([p, w]) => !Buffer.from(w.data).equals(Buffer.from(weights(rtn).get(p)!.data)));
    assert.ok(differ.length > 0, `${format}: GPTQ chose other codes than round-to-nearest somewhere`);
  }
});

test('block by block: each block gets GPTQ codes on the inputs the model gives it with the blocks before it already quantized', () => {
  const format = 'q4_0';
  const seq = calibrated(format).model;
  const layersOf = (m: CausalLM, block: number) => quantizableLinears(m).filter(([p]) => p.includes(`.layers.${block}.`));
  const byPath = new Map(weights(seq));
  const blocks = new Set(quantizableLinears(dense()).map(([p]) => /\.layers\.(\d+)\./.exec(p)![1]));
  assert.ok(blocks.size >= 2, 'the tiny model has several blocks');
  let sawEarlierBlocksMatter = false;
  for (const block of [...blocks].map(Number)) {
    // a dense model with blocks < block replaced by the calibrated model's quantized layers
    const ref = dense();
    for (const [p] of quantizableLinears(ref)) if (Number(/\.layers\.(\d+)\./.exec(p)![1]) < block) ref.setChild(p, seq.getModule(p));
    const inputs = new Map<string, Float32Array[]>();
    for (const [p, lin] of layersOf(ref, block)) {
      inputs.set(p, []);
      lin.forward = (x, o) => {
        inputs.get(p)!.push(Float32Array.from(x.f32));
        return Linear.prototype.forward.call(lin, x, o);
      };
    }
    noGradRun(ref);
    for (const [p, lin] of layersOf(ref, block)) {
      const xs = inputs.get(p)!;
      const n = lin.inFeatures;
      const xtx = new Float64Array(n * n);
      for (const x of xs) outerSum(x, x.length / n, n).forEach((v, i) => (xtx[i] += v));
      const [rows, cols] = lin.weight.shape as [number, number];
      const want = gptqQuantize({ weight: lin.weight.f32, rows, cols, format, xtx });
      assert.ok(Buffer.from(byPath.get(p)!.data).equals(Buffer.from(want.data)), `${p}: GPTQ on the inputs after the quantized blocks`);
      if (block > 0) {
        // the same layer calibrated on the dense model's inputs (the one-pass scheme) chooses other codes
        const dense0 = dense();
        const seen: Float32Array[] = [];
        const [, l0] = quantizableLinears(dense0).find(([q]) => q === p)!;
        l0.forward = (x, o) => {
          seen.push(Float32Array.from(x.f32));
          return Linear.prototype.forward.call(l0, x, o);
        };
        noGradRun(dense0);
        const xtx0 = new Float64Array(n * n);
        for (const x of seen) outerSum(x, x.length / n, n).forEach((v, i) => (xtx0[i] += v));
        const onePass = gptqQuantize({ weight: l0.weight.f32, rows, cols, format, xtx: xtx0 });
        if (!Buffer.from(onePass.data).equals(Buffer.from(want.data))) sawEarlierBlocksMatter = true;
      }
    }
  }
  assert.ok(sawEarlierBlocksMatter, "some later layer got other codes than on the dense model's inputs");
});

test("layers outside the numbered blocks (OPT-350m's project_in / project_out) are calibrated where the forward pass reaches them", () => {
  const optFolder = path.join(repoRoot, 'test/fixtures/models/opt_tiny'); // word_embed_proj_dim 16, hidden 24
  const load = (): CausalLM => loadModel(optFolder, { backend });
  const ids = [0, 1].map((b) => Array.from({ length: 2 * 8 }, (_, i) => (i * 7 + 3 + b) % 50));
  const run = (m: CausalLM, b: number): void => void m.hidden(tensor(backend, ids[b]!, [2, 8], 'i32'));
  const model = load();
  const outside = quantizableLinears(model)
    .map(([p]) => p)
    .filter((p) => !/\.\d+\./.test(p))
    .sort();
  assert.deepEqual(outside, ['model.decoder.project_in', 'model.decoder.project_out']);
  calibrateQuantize(model, { format: 'q8_0', examples: 4, batches: 2, forward: run });
  const got = weights(model);
  assert.equal(got.size, quantizableLinears(load()).length, 'every layer --quantize replaces');
  // project_in: on the embeddings (nothing before it); project_out: after every block, quantized
  for (const [p, earlier] of [
    ['model.decoder.project_in', () => false],
    ['model.decoder.project_out', (q: string) => q !== 'model.decoder.project_out'],
  ] as const) {
    const ref = load();
    for (const [q] of quantizableLinears(ref)) if (earlier(q)) ref.setChild(q, model.getModule(q));
    const lin = ref.getModule(p) as Linear;
    const xs: Float32Array[] = [];
    lin.forward = (x, o) => {
      xs.push(Float32Array.from(x.f32));
      return Linear.prototype.forward.call(lin, x, o);
    };
    noGrad(() => [0, 1].forEach((b) => run(ref, b)));
    const n = lin.inFeatures;
    const xtx = new Float64Array(n * n);
    for (const x of xs) outerSum(x, x.length / n, n).forEach((v, i) => (xtx[i] += v));
    const [rows, cols] = lin.weight.shape as [number, number];
    const want = gptqQuantize({ weight: lin.weight.f32, rows, cols, format: 'q8_0', xtx });
    assert.ok(Buffer.from(got.get(p)!.data).equals(Buffer.from(want.data)), p);
  }
});

test('an error of the forward pass (not the end of a block) propagates, and no hook is left behind', () => {
  const model = dense();
  const linears = quantizableLinears(model).map(([, l]) => l);
  assert.throws(
    () =>
      calibrateQuantize(model, {
        format: 'nf4',
        examples: 2,
        batches: 2,
        forward: (m, b) => {
          runBatch(m, b);
          throw new Error('the data broke');
        },
      }),
    /the data broke/,
  );
  for (const lin of linears) assert.equal(Object.hasOwn(lin, 'forward'), false);
});

function noGradRun(m: CausalLM): void {
  noGrad(() => [0, 1].forEach((b) => runBatch(m, b)));
}

test('outerSum is X^T X, for even and odd widths', () => {
  for (const [rows, n] of [
    [5, 6],
    [7, 9],
    [1, 1],
  ] as const) {
    const X = Float32Array.from({ length: rows * n }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 3)));
    const got = outerSum(X, rows, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < rows; t++) s += X[t * n + i]! * X[t * n + j]!;
        assert.equal(got[i * n + j], s, `${rows} x ${n}: (${i}, ${j})`);
      }
  }
});

test('a layer wider than GPTQ_MAX_IN is refused before any forward pass, naming the layer and the fix', () => {
  const wide = loadModel(tinyModelFolder(31, { dim: 16, hiddenDim: GPTQ_MAX_IN + 8 }), { backend });
  let forwards = 0;
  assert.throws(
    () => calibrateQuantize(wide, { format: 'nf4', examples: 1, batches: 1, forward: () => void forwards++ }),
    (e: Error) =>
      e instanceof ColaError &&
      /down_proj takes 8200 inputs, over the 8192/.test(e.message) &&
      /drop --quantize-calibration/.test(e.message),
  );
  assert.equal(forwards, 0);
});
