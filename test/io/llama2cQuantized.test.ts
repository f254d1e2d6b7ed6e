// A llama2.c int8 (version 2) checkpoint loads as a quantized base (issue 17): `--model
// FILE.bin` keeps each linear weight's int8 codes and f32 group scales as cola's int8g.
// That is bit-exact: dequant(W) is the exact widening (`cola convert llama2c`) bit for
// bit, and the model's f32 logits equal the widened model's bitwise.
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
import { cola } from '../cli/harness.js';
import { maxDiffRelToMax } from '../helpers/tolerance.js';

const dir = makeTmpDir('llama2c-quantized');
const backend = getBackend();
const notes: string[] = [];
const load = (p: string, quantize?: 'q8_0' | 'nf4') => loadModel(p, { backend, warn: (m) => notes.push(m), quantize });
const logitsOf = (m: CausalLM, ids: number[]) => noGrad(() => m.logits(tensor(backend, ids, [1, ids.length], 'i32')).f32.slice());
const quantizedLayers = (m: CausalLM) =>
  [...m.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear);

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

/** The f32 bits of a, as numbers (so -0 and NaN payloads compare too). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

test('a llama2.c v2 .bin loads its linear weights as int8g (its codes and f32 scales): bitwise the exact widening', () => {
  for (const gs of [32, 16]) {
    const { bin, folder } = tinyV2(`gs${gs}`, gs);
    notes.length = 0;
    const q = load(bin);
    const widened = load(folder);
    const layers = quantizedLayers(q);
    assert.equal(layers.length, 2 * 7);
    const dense = new Map(widened.exportTensors().map(([n, t]) => [n, t.f32]));
    for (const [p, l] of layers) {
      assert.equal(l.format, 'int8g', p);
      assert.equal(l.weight.groupSize, gs, p);
      assert.deepEqual(bits(dequantize(l.weight)), bits(dense.get(`${p}.weight`)!), `${p}: dequant(W) is the exact widening`);
    }
    assert.match(notes.join('\n'), /14 linear weights stay quantized, exactly, as cola's int8g/);
    const ids = [1, 40, 50, 60, 70, 80];
    const lq = logitsOf(q, ids);
    assert.deepEqual(bits(lq), bits(logitsOf(widened, ids)), `group ${gs}: logits bitwise equal to the exact widening's`);
    assert.deepEqual(bits(lq), bits(logitsOf(dequantizedCopy(load(bin)), ids)), 'and to the dense copy of dequant(W)');
  }
  // the tokenizer beside the file is the converted folder's
  const { bin, folder } = tinyV2('tok', 32);
  const [a, b] = [loadTokenizer(bin), loadTokenizer(folder)];
  for (const text of ['the cat sat on the mat.', 'hello Tom é!']) assert.deepEqual(a.encode(text), b.encode(text), text);
});

test('groups across rows are widened exactly (with the reason); any --quantize is refused', () => {
  // group 64: rows of 64 (q, k, v, o, gate, up) stay int8g; down_proj's rows of 96 are not whole groups
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
  const widened = load(folder);
  const down = 'model.layers.0.mlp.down_proj.weight';
  const exact = new Map(widened.exportTensors().map(([n, t]) => [n, t.f32]));
  assert.deepEqual(new Map(q.exportTensors().map(([n, t]) => [n, t.f32])).get(down), exact.get(down));
  const ids = [1, 9, 30, 44];
  assert.deepEqual(bits(logitsOf(q, ids)), bits(logitsOf(widened, ids)), 'mixed int8g / widened: still bitwise');
  for (const f of ['q8_0', 'nf4'] as const)
    assert.throws(
      () => load(bin, f),
      (e: unknown) =>
        e instanceof ColaError && new RegExp(`--quantize ${f}: .*llama2\\.c int8 \\(version 2\\).*int8g.*Drop --quantize`).test(e.message),
    );
});

test('cola info describes a v2 .bin from its header: the int8g layers, what is widened, --quantize refused', () => {
  const { bin } = tinyV2('info', 64);
  const r = cola(['info', '--model', bin, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as Record<string, unknown>;
  const kept = (info['kept_quantized'] as Record<string, string[]>)['int8g']!;
  assert.equal(kept.length, 2 * 6); // down_proj's rows of 96 are not whole groups of 64
  const widened = (info['dequantized'] as { name: string; why: string }[]).map((d) => `${d.name}: ${d.why}`).join('\n');
  assert.match(widened, /model\.layers\.1\.mlp\.down_proj\.weight: rows of 96 values are not whole groups of 64/);
  assert.match(widened, /model\.embed_tokens\.weight: the embedding is widened exactly/);
  assert.deepEqual(info['quantized_memory_bytes'], {});
  // the parameters count the weights held as codes too: the widened folder's count
  const model = load(bin);
  const dense = model.exportTensors().reduce((s, [, t]) => s + t.size, 0);
  const codes = quantizedLayers(model).reduce((s, [, l]) => s + l.inFeatures * l.outFeatures, 0);
  assert.equal(info['parameters'], dense + codes);
  const text = cola(['info', '--model', bin]);
  assert.match(text.stdout, /stays quantized on load \(int8g, no --quantize needed\): 12 linear weights/);
  assert.match(text.stdout, /with --quantize: refused/);
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

test(
  'stories3M-q80.bin loads quantized: 42 int8g layers, logits bitwise the f32 widening, the README golden start and NLL',
  { skip: skipShared },
  () => {
    const bin = path.join(sharedDir, 'models/stories3M/stories3M-q80.bin');
    const q = load(bin);
    assert.equal(quantizedLayers(q).length, 6 * 7);
    assert.ok(quantizedLayers(q).every(([, l]) => l.format === 'int8g' && l.weight.groupSize === 64));
    const folder = path.join(dir, 'stories3M-widened');
    convertLlama2c(
      bin,
      path.join(
        path.dirname(bin),
        fs.readdirSync(path.dirname(bin)).find((f) => /^tok.*\.bin$/.test(f))!,
      ),
      folder,
    );
    const probe = [1, 403, 407, 261, 378, 4016, 383, 286];
    const [lq, lw] = [logitsOf(q, probe), logitsOf(load(folder), probe)];
    assert.equal(maxDiffRelToMax(lq, lw), 0, 'stories3M: the quantized load against the exact widening');
    assert.deepEqual(bits(lq), bits(lw));
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
  },
);
