// A llama2.c int8 (version 2) checkpoint loads as a quantized base (issue 17): `--model
// FILE.bin` keeps each linear weight's int8 codes as cola's q8_0, with each group's f32
// scale stored as f16. The model then computes exactly dequant(q8_0) (checked against a
// dense model of those values), and differs from the exact widening (`cola convert
// llama2c`) only by the scale rounding: at most 2^-11 relative per weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBackend } from '../../src/backend/index.js';
import { dequantize } from '../../src/backend/quant/codec.js';
import { ColaError } from '../../src/errors.js';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { generate } from '../../src/models/generate.js';
import { loadModel } from '../../src/models/load.js';
import { Linear } from '../../src/nn/linear.js';
import { QuantizedLinear } from '../../src/nn/quantizedLinear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { randomWeights, sharedDir, skipShared, tinyVocab, writeTokenizerBin, writeV2, type TinyDims } from './llama2cFixtures.js';
import { makeTmpDir } from './tmpdir.js';

const dir = makeTmpDir('llama2c-quantized');
const backend = getBackend();
const notes: string[] = [];
const load = (p: string, quantize?: 'q8_0' | 'nf4') => loadModel(p, { backend, warn: (m) => notes.push(m), quantize });
const logitsOf = (m: CausalLM, ids: number[]) => noGrad(() => m.logits(tensor(backend, ids, [1, ids.length], 'i32')).f32.slice());
const quantizedLayers = (m: CausalLM) =>
  [...m.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear);

function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** The model with each quantized layer replaced by a dense Linear of dequant(W). */
function dequantizedCopy(m: CausalLM): CausalLM {
  for (const [p, l] of quantizedLayers(m))
    m.setChild(p, new Linear(tensor(backend, dequantize(l.weight), [l.outFeatures, l.inFeatures]), l.bias));
  return m;
}

/** A tiny v2 file (dim 64, hidden 96) in its own folder with tok.bin beside it, and the
 * exact widening of it as a model folder. */
function tinyV2(name: string, groupSize: number): { bin: string; folder: string } {
  const sub = path.join(dir, name);
  fs.mkdirSync(sub);
  const { pieces, scores } = tinyVocab();
  const d: TinyDims = { dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: pieces.length, seqLen: 64 };
  const bin = path.join(sub, 'model.bin');
  writeV2(bin, d, randomWeights(d, true, 5), groupSize);
  writeTokenizerBin(path.join(sub, 'tok.bin'), pieces, scores);
  const folder = path.join(dir, `${name}-widened`);
  convertLlama2c(bin, path.join(sub, 'tok.bin'), folder);
  return { bin, folder };
}

test('a llama2.c v2 .bin loads its linear weights as q8_0 (its int8 codes); logits = its dequantized copy, ~ the exact widening', () => {
  const { bin, folder } = tinyV2('gs32', 32);
  notes.length = 0;
  const q = load(bin);
  const widened = load(folder);
  const layers = quantizedLayers(q);
  assert.equal(layers.length, 2 * 7);
  const dense = new Map(widened.exportTensors().map(([n, t]) => [n, t.f32]));
  for (const [p, l] of layers) {
    assert.equal(l.format, 'q8_0', p);
    // the only change from the exact widening is the f16 scale: <= 2^-11 relative per weight
    const got = dequantize(l.weight);
    const ref = dense.get(`${p}.weight`)!;
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i]! - ref[i]!) <= 2 ** -11 * Math.abs(ref[i]!) + 1e-12, `${p}[${i}]`);
  }
  assert.match(notes.join('\n'), /14 linear weights stay quantized as cola's q8_0: the file's int8 codes/);
  const ids = [1, 40, 50, 60, 70, 80];
  const lq = logitsOf(q, ids);
  assert.ok(relDiff(lq, logitsOf(dequantizedCopy(load(bin)), ids)) <= 1e-5, 'the quantized base computes dequant(W)');
  const d = relDiff(lq, logitsOf(widened, ids));
  assert.ok(d > 0 && d <= 1e-3, `vs the exact widening: relative logit difference ${d}`);
  // the tokenizer beside the file is the converted folder's
  const [a, b] = [loadTokenizer(bin), loadTokenizer(folder)];
  for (const text of ['the cat sat on the mat.', 'hello Tom é!']) assert.deepEqual(a.encode(text), b.encode(text), text);
});

test('groups across rows are widened exactly (with the reason); --quantize other than q8_0 is refused', () => {
  // group 64: rows of 64 (q, k, v, o, gate, up) stay q8_0; down_proj's rows of 96 are not whole groups
  const { bin, folder } = tinyV2('gs64', 64);
  notes.length = 0;
  const q = load(bin);
  const layers = quantizedLayers(q);
  assert.equal(layers.length, 2 * 6);
  assert.ok(layers.every(([p]) => !p.endsWith('down_proj')));
  assert.match(
    notes.join('\n'),
    /widened exactly to f32: model\.layers\.0\.mlp\.down_proj\.weight.*rows of 96 values are not whole groups of 64/,
  );
  const down = 'model.layers.0.mlp.down_proj.weight';
  const exact = new Map(
    load(folder)
      .exportTensors()
      .map(([n, t]) => [n, t.f32]),
  );
  assert.deepEqual(new Map(q.exportTensors().map(([n, t]) => [n, t.f32])).get(down), exact.get(down));
  // --quantize q8_0 is the same load, and also quantizes what the file could not keep
  assert.equal(quantizedLayers(load(bin, 'q8_0')).length, 14);
  assert.throws(
    () => load(bin, 'nf4'),
    (e: unknown) => e instanceof ColaError && /--quantize nf4: .*llama2\.c int8 \(version 2\).*Drop --quantize/.test(e.message),
  );
});

test('a .bin without a tokenizer beside it is refused with the fix', () => {
  const { bin } = tinyV2('no-tok', 32);
  fs.rmSync(path.join(path.dirname(bin), 'tok.bin'));
  assert.throws(
    () => loadTokenizer(bin),
    (e: unknown) => e instanceof ColaError && /needs its tokenizer beside it.*cola convert llama2c/.test(e.message),
  );
});

// ---- stories3M (../shared/models/stories3M: int8, group 64) ----

test('stories3M-q80.bin loads quantized: 42 q8_0 layers, the README golden start and NLL', { skip: skipShared }, () => {
  const bin = path.join(sharedDir, 'models/stories3M/stories3M-q80.bin');
  const q = load(bin);
  assert.equal(quantizedLayers(q).length, 6 * 7);
  const tok = loadTokenizer(bin);
  assert.deepEqual(tok.encode('Once upon a time'), [1, 403, 407, 261, 378]);
  // README "First ids": greedy from the prompt
  const first = [1, 403, 407, 261, 378, 4016, 383, 286, 261, 376, 445, 395, 317, 4010, 338, 435, 267, 337, 590, 322, 265];
  const ids = generate(q, first.slice(0, 5), { maxNewTokens: first.length - 5, temperature: 0 });
  assert.deepEqual([...first.slice(0, 5), ...ids], first);
  const text =
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';
  const t = tok.encode(text);
  const loss = noGrad(() =>
    q.loss(tensor(backend, t.slice(0, -1), [1, t.length - 1], 'i32'), tensor(backend, t.slice(1), [t.length - 1], 'i32')),
  ).f32[0]!;
  assert.ok(Math.abs(loss - 0.4484) < 1e-3, `NLL ${loss} (README: 0.4484 with the exact f32 weights)`);
});
