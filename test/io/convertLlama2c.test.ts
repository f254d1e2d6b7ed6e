import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { readLlama2c } from '../../src/io/llama2c.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { makeTmpDir } from './tmpdir.js';
import { TINY, randomWeights, sharedDir, skipShared, tinyVocab, writeTokenizerBin, writeV0, writeV2 } from './llama2cFixtures.js';

const dir = makeTmpDir('convert');
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** A vocab of TINY.vocabSize pieces is not a valid llama2.c tokenizer (needs 259+), so the
 * tiny models here use the tiny tokenizer's size. */
const { pieces, scores } = tinyVocab();
const dims = { ...TINY, vocabSize: pieces.length };
const tokBin = path.join(dir, 'tok.bin');
writeTokenizerBin(tokBin, pieces, scores);

function assertFolderMatches(modelBin: string, out: string): void {
  const names = fs.readdirSync(out).sort();
  assert.deepEqual(names, ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const source = readLlama2c(modelBin);
  const st = openSafetensors(out);
  assert.deepEqual([...st.tensors.keys()].sort(), [...source.stateDict.keys()].sort());
  for (const [name, t] of source.stateDict) {
    assert.deepEqual(st.tensors.get(name)!.shape, t.shape, name);
    assert.equal(st.tensors.get(name)!.dtype, 'F32');
    assert.deepEqual(st.read(name), t.data, name);
  }
  assert.deepEqual(readJson(path.join(out, 'config.json')), source.config);
  assert.equal(st.metadata.format, 'pt');
}

test('a tiny version 0 untied model converts to a complete HF folder with identical tensors', () => {
  const bin = path.join(dir, 'v0.bin');
  writeV0(bin, dims, randomWeights(dims, false, 50));
  const out = path.join(dir, 'out-v0');
  const result = convertLlama2c(bin, tokBin, out);
  assertFolderMatches(bin, out);
  assert.equal(result.config.tie_word_embeddings, false);
  const tok = loadTokenizer(out);
  assert.deepEqual([tok.bosId, tok.eosId, tok.vocabSize], [1, 2, dims.vocabSize]);
  assert.equal(tok.decode(tok.encode('the cat sat'), { skipSpecial: true }), 'the cat sat');
});

test('a tiny version 2 tied model converts; re-converting over it leaves no temp files', () => {
  const bin = path.join(dir, 'v2.bin');
  writeV2(bin, dims, randomWeights(dims, true, 51), 8);
  const out = path.join(dir, 'out-v2');
  convertLlama2c(bin, tokBin, out);
  convertLlama2c(bin, tokBin, out);
  assertFolderMatches(bin, out);
  assert.equal(readJson(path.join(out, 'config.json')).cola_rope_layout, 'halves');
});

test('a tokenizer whose size differs from the model vocab is refused before anything is written', () => {
  const bin = path.join(dir, 'v0-mismatch.bin');
  writeV0(bin, { ...dims, vocabSize: dims.vocabSize + 1 }, randomWeights({ ...dims, vocabSize: dims.vocabSize + 1 }, true, 52));
  const out = path.join(dir, 'out-mismatch');
  assert.throws(
    () => convertLlama2c(bin, tokBin, out),
    (e: unknown) => e instanceof ColaError && /vocab_size/.test(e.message),
  );
  assert.equal(fs.existsSync(out), false);
});

test('the real stories260K converts and its tokenizer gives the README ids', { skip: skipShared }, () => {
  const model = path.join(sharedDir, 'models/stories260K/stories260K.bin');
  const out = path.join(dir, 'stories260K');
  convertLlama2c(model, path.join(sharedDir, 'models/stories260K/tok512.bin'), out);
  assertFolderMatches(model, out);
  const config = readJson(path.join(out, 'config.json'));
  assert.equal(config.hidden_size, 64);
  assert.equal(config.num_key_value_heads, 4);
  assert.deepEqual(loadTokenizer(out).encode('Once upon a time'), [1, 403, 407, 261, 378]);
});
