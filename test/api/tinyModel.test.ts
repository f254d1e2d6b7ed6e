import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPretrained } from '../../src/api/load.js';
import { syntheticText } from '../../src/api/syntheticText.js';
import { TINY_MODEL_DEFAULTS, writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('tiny');

test('the tiny model folder loads with its tokenizer and has the asked-for shape', () => {
  const folder = writeTinyModelFolder(path.join(dir, 'a'), { layers: 3, context: 48 });
  const { model, tokenizer } = loadPretrained(folder, { backend: 'reference' });
  assert.deepEqual([model.dims.numLayers, model.dims.hiddenSize, model.dims.maxPositions], [3, TINY_MODEL_DEFAULTS.hiddenSize, 48]);
  assert.equal(model.dims.vocabSize, tokenizer.vocabSize);
  assert.deepEqual([tokenizer.bosId, tokenizer.eosIds], [1, [2]]);
});

test('its tokenizer is character-level and round-trips any text (bytes for non-ASCII)', () => {
  const { tokenizer } = loadPretrained(writeTinyModelFolder(path.join(dir, 'b')), { backend: 'reference' });
  for (const text of ['O lord, thou art.', 'Tom had 2 red balls!', 'naïve — ☃', 'a\nb']) {
    const ids = tokenizer.encode(text, { addBos: false });
    assert.equal(tokenizer.decode(ids), text);
    // one token per character, plus the space SentencePiece (and llama2.c) puts in front
    if (/^[ -~]*$/.test(text)) assert.equal(ids.length, text.length + 1, text);
  }
});

test('same options, same bytes; another seed, other weights', () => {
  const read = (d: string) => fs.readFileSync(path.join(d, 'model.safetensors'));
  const a = writeTinyModelFolder(path.join(dir, 'c1'), { seed: 7 });
  const b = writeTinyModelFolder(path.join(dir, 'c2'), { seed: 7 });
  const c = writeTinyModelFolder(path.join(dir, 'c3'), { seed: 8 });
  assert.deepEqual(read(a), read(b));
  assert.notDeepEqual(read(a), read(c));
});

test('syntheticText is seeded, and its two styles share no sentence', () => {
  assert.equal(syntheticText('verse', 20, 4), syntheticText('verse', 20, 4));
  assert.notEqual(syntheticText('verse', 20, 4), syntheticText('verse', 20, 5));
  assert.equal(syntheticText('stories', 7, 0).trim().split('\n').length, 7);
  const stories = new Set(syntheticText('stories', 200, 0).split(/(?<=\.) /));
  assert.ok(
    syntheticText('verse', 200, 0)
      .split(/(?<=\.) /)
      .every((s) => !stories.has(s)),
  );
});
