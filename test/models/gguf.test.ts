// GGUF as a base model (issue 17): a written GGUF loads back to the same model, quantized
// exports are stable through load -> export, and the real stories260K GGUF files give the
// README's golden greedy text and NLL, with llama.cpp's exact tensor layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBackend } from '../../src/backend/index.js';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { bf16ToF32 } from '../../src/io/floatBits.js';
import { convertGguf } from '../../src/io/gguf/convertGguf.js';
import { decodeGguf, encodeGguf } from '../../src/io/gguf/ggufCodecs.js';
import { readGgufHeader, readGgufTensorBytes } from '../../src/io/gguf/ggufReader.js';
import { tokenizerMetadataFor } from '../../src/io/gguf/ggufTokenizer.js';
import { ggmlTypeByName } from '../../src/io/gguf/ggufTypes.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { generate } from '../../src/models/generate.js';
import { loadModel } from '../../src/models/load.js';
import { saveModelGguf } from '../../src/models/saveGguf.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tinyModelFolder } from '../helpers/tinyFolder.js';
import { sharedDir, skipShared } from '../io/llama2cFixtures.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { GGUF_BLOCK_CODEC } from '../../src/models/ggufBlockCodec.js';

const dir = makeTmpDir('gguf-models');
const backend = getBackend();
const notes: string[] = [];
const load = (p: string) => loadModel(p, { backend, warn: (m) => notes.push(m) });
// rows of 32 and 64: every matrix can be Q8_0/Q4_0
const folder = tinyModelFolder(3, { dim: 32, hiddenDim: 64 });

const weights = (m: CausalLM) =>
  new Map(m.exportTensors().map(([n, t]) => [n, t.dtype === 'bf16' ? bf16ToF32(t.data as Uint16Array) : t.f32.slice()]));
const logitsOf = (m: CausalLM, ids: number[]) => noGrad(() => m.logits(tensor(backend, ids, [1, ids.length], 'i32')).f32.slice());

function exportTo(model: CausalLM, name: string, type: 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0', source = folder): string {
  const file = path.join(dir, name);
  saveModelGguf(model, { file, type, tokenizer: tokenizerMetadataFor(source) });
  return file;
}

test('an f32 GGUF written from a model folder loads back to the same weights and logits, and the same tokenizer', () => {
  const base = load(folder);
  const file = exportTo(base, 'tiny-f32.gguf', 'f32');
  const g = readGgufHeader(file);
  assert.equal(g.tensors.has('output.weight'), false, 'a tied model has no output.weight (llama.cpp reuses token_embd)');
  const back = load(file);
  assert.equal(back.config['tie_word_embeddings'], true);
  const [a, b] = [weights(base), weights(back)];
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [n, w] of a) assert.deepEqual(b.get(n), w, n);
  const ids = [1, 40, 50, 60, 70, 80];
  assert.deepEqual(logitsOf(back, ids), logitsOf(base, ids));
  const [t1, t2] = [loadTokenizer(folder), loadTokenizer(file)];
  for (const text of ['the cat sat on the mat.', 'hello Tom é!', '']) {
    assert.deepEqual(t2.encode(text), t1.encode(text), text);
    assert.equal(t2.decode(t2.encode(text), { skipSpecial: true }), text);
  }
  assert.deepEqual([t2.bosId, t2.eosId, t2.vocabSize], [t1.bosId, t1.eosId, t1.vocabSize]);
});

test('f16, bf16, q8_0 and q4_0 exports: load -> export again writes the same tensor bytes; values stay close', () => {
  const base = load(folder);
  const a = weights(base);
  for (const [type, tol] of [
    ['f16', 1e-3],
    ['bf16', 1e-2],
    ['q8_0', 2e-2],
    ['q4_0', 0.25],
  ] as const) {
    const first = exportTo(base, `tiny-${type}.gguf`, type);
    const reloaded = load(first);
    const second = exportTo(reloaded, `tiny-${type}-again.gguf`, type, first);
    const [g1, g2] = [readGgufHeader(first), readGgufHeader(second)];
    for (const t of g1.tensors.values()) {
      assert.equal(t.type.name, t.dims.length === 1 ? 'F32' : type.toUpperCase(), `${type} ${t.name}`);
      assert.deepEqual(readGgufTensorBytes(g2, t.name), readGgufTensorBytes(g1, t.name), `${type} ${t.name} re-export`);
    }
    for (const [n, w] of weights(reloaded)) {
      const ref = a.get(n)!;
      const amax = Math.max(...ref.map(Math.abs));
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - ref[i]) <= tol * amax, `${type} ${n}[${i}]`);
    }
  }
  // the block linear weights load as their blocks (issue 17); the embedding is dequantized
  assert.ok(
    notes.some((m) => /14 linear weights stay quantized as cola's q8_0 .*dequantized to f32: token_embd\.weight/.test(m)),
    notes.join('\n'),
  );
});

test('rows that are not whole 32-value blocks fall back to F16 in a Q8_0 export, as llama.cpp does', () => {
  const odd = tinyModelFolder(4, { dim: 32, hiddenDim: 48 });
  const file = path.join(dir, 'odd-q8.gguf');
  const r = saveModelGguf(load(odd), { file, type: 'q8_0', tokenizer: tokenizerMetadataFor(odd) });
  assert.deepEqual(r.fallbacks, ['blk.0.ffn_down.weight', 'blk.1.ffn_down.weight']);
  assert.equal(readGgufHeader(file).tensors.get('blk.0.ffn_down.weight')!.type.name, 'F16');
  assert.equal(readGgufHeader(file).tensors.get('blk.0.ffn_up.weight')!.type.name, 'Q8_0');
});

// ---- the real stories260K files (../shared/models/gguf) ----

const gguf = (f: string) => path.join(sharedDir, 'models/gguf', f);
const golden = (): string => {
  const readme = fs.readFileSync(path.join(sharedDir, 'models/stories260K/README.md'), 'utf8');
  return /Greedy[^\n]*\n+```\n([\s\S]*?)\n```/.exec(readme)![1];
};
const greedy = (m: CausalLM) => generate(m, [1], { maxNewTokens: 256, temperature: 0 });
let storiesFolder = '';
const llama2cFolder = (): string => {
  if (!storiesFolder) {
    storiesFolder = path.join(dir, 'stories-llama2c');
    const s = path.join(sharedDir, 'models/stories260K');
    convertLlama2c(path.join(s, 'stories260K.bin'), path.join(s, 'tok512.bin'), storiesFolder);
  }
  return storiesFolder;
};

test('stories260K.gguf (v3, F32) generates the README golden greedy text and its teacher-forced NLL', { skip: skipShared }, () => {
  const file = gguf('stories260K.gguf');
  const model = load(file);
  const tok = loadTokenizer(file);
  assert.equal(tok.decode(greedy(model), { skipSpecial: true }), golden());
  const text =
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';
  const ids = tok.encode(text);
  assert.equal(ids.length, 45);
  const loss = noGrad(() =>
    model.loss(tensor(backend, ids.slice(0, -1), [1, ids.length - 1], 'i32'), tensor(backend, ids.slice(1), [ids.length - 1], 'i32')),
  ).f32[0];
  assert.ok(Math.abs(loss - 0.3241) < 5e-4, `NLL ${loss}`);
});

test(
  'a GGUF written from the stories260K safetensors folder is tensor for tensor the published F32 file and generates the same',
  { skip: skipShared },
  () => {
    const folderModel = load(llama2cFolder());
    const file = path.join(dir, 'stories-f32.gguf');
    saveModelGguf(folderModel, { file, type: 'f32', tokenizer: tokenizerMetadataFor(llama2cFolder()) });
    const [ours, theirs] = [readGgufHeader(file), readGgufHeader(gguf('stories260K.gguf'))];
    // the llama2.c model is tied: the published file stores the classifier again, equal to the embedding
    assert.deepEqual([...ours.tensors.keys(), 'output.weight'].sort(), [...theirs.tensors.keys()].sort());
    assert.deepEqual(readGgufTensorBytes(theirs, 'output.weight'), readGgufTensorBytes(theirs, 'token_embd.weight'));
    for (const t of ours.tensors.values()) {
      assert.deepEqual(theirs.tensors.get(t.name)!.dims, t.dims, t.name);
      assert.deepEqual(readGgufTensorBytes(ours, t.name), readGgufTensorBytes(theirs, t.name), t.name);
    }
    for (const key of [
      'llama.embedding_length',
      'llama.feed_forward_length',
      'llama.block_count',
      'llama.attention.head_count',
      'llama.attention.head_count_kv',
      'llama.rope.dimension_count',
      'llama.attention.layer_norm_rms_epsilon',
    ])
      assert.deepEqual(ours.metadata.get(key), theirs.metadata.get(key), key);
    for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type'])
      assert.deepEqual(ours.metadata.get(key), theirs.metadata.get(key), key);
    assert.deepEqual(greedy(load(file)), greedy(folderModel));
  },
);

test(
  'stories260K-q8_0.gguf (v2): its blocks are our Q8_0 of the F32 file, the row-172 tensor as one flat stream',
  { skip: skipShared },
  () => {
    const [q8, f32] = [readGgufHeader(gguf('stories260K-q8_0.gguf')), readGgufHeader(gguf('stories260K.gguf'))];
    assert.equal(q8.version, 2);
    const type = ggmlTypeByName('Q8_0');
    let checked = 0;
    for (const t of q8.tensors.values()) {
      if (t.type.name !== 'Q8_0') continue;
      const src = f32.tensors.get(t.name)!;
      const values = decodeGguf(src.type, readGgufTensorBytes(f32, t.name), src.elements, GGUF_BLOCK_CODEC);
      assert.deepEqual(encodeGguf(type, values, GGUF_BLOCK_CODEC), readGgufTensorBytes(q8, t.name), t.name);
      checked++;
    }
    assert.equal(checked, 37);
    // Our Q8_0 export of the folder matches the file wherever llama.cpp's row rule allows Q8_0.
    const file = path.join(dir, 'stories-q8.gguf');
    saveModelGguf(load(llama2cFolder()), { file, type: 'q8_0', tokenizer: tokenizerMetadataFor(llama2cFolder()) });
    const ours = readGgufHeader(file);
    for (const t of ours.tensors.values()) {
      if (t.type.name === 'Q8_0') assert.deepEqual(readGgufTensorBytes(ours, t.name), readGgufTensorBytes(q8, t.name), t.name);
      else assert.ok(t.name.endsWith('ffn_down.weight') || t.dims.length === 1, t.name);
    }
  },
);

test('stories260K-q8_0.gguf loads (linear weights quantized, with a note) and starts the golden story', { skip: skipShared }, () => {
  notes.length = 0;
  const file = gguf('stories260K-q8_0.gguf');
  const ids = generate(load(file), [1], { maxNewTokens: 4, temperature: 0 });
  assert.deepEqual(ids, [403, 407, 261, 378]);
  assert.equal(notes.length, 1);
  assert.match(notes[0], /stories260K-q8_0\.gguf: 30 linear weights stay quantized as cola's q8_0/);
  assert.match(notes[0], /blk\.0\.ffn_down\.weight.*rows of 172 values are not whole Q8_0 blocks/);
});

test(
  'convert gguf -> folder generates the same greedy text as the GGUF file; the folder has the llama2.c converter tensors',
  { skip: skipShared },
  () => {
    const out = path.join(dir, 'stories-from-gguf');
    const r = convertGguf(gguf('stories260K.gguf'), out, GGUF_BLOCK_CODEC);
    assert.deepEqual(r.dequantized, []);
    assert.deepEqual(greedy(load(out)), greedy(load(gguf('stories260K.gguf'))));
    const [a, b] = [weights(load(out)), weights(load(llama2cFolder()))];
    for (const [n, w] of b) assert.deepEqual(a.get(n), w, n);
    assert.deepEqual(loadTokenizer(out).encode('Once upon a time'), [1, 403, 407, 261, 378]);
  },
);
