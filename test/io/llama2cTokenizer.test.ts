import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readLlama2cTokenizer, toHfTokenizerConfig, toHfTokenizerJson } from '../../src/io/llama2cTokenizer.js';
import { loadTokenizer, type TextTokenizer } from '../../src/io/tokenizer.js';
import { makeTmpDir } from './tmpdir.js';
import { sharedDir, skipShared, tinyVocab, writeTokenizerBin } from './llama2cFixtures.js';

const dir = makeTmpDir('llama2c-tok');

/** Parse a tokenizer .bin directly (no src/io code), for the reference encoder. */
function parseBin(file: string): { pieces: string[]; scores: number[] } {
  const b = fs.readFileSync(file);
  const pieces: string[] = [];
  const scores: number[] = [];
  for (let at = 4; at < b.length;) {
    const len = b.readInt32LE(at + 4);
    scores.push(b.readFloatLE(at));
    pieces.push(b.subarray(at + 8, at + 8 + len).toString('utf8'));
    at += 8 + len;
  }
  return { pieces, scores };
}

/** llama2.c run.c encode(text, bos=1, eos=0), transcribed: BOS, dummy-prefix space, one
 * token per code point (or byte + 3), then merge the leftmost highest-score pair until none. */
function runCEncode(vocab: { pieces: string[]; scores: number[] }, text: string): number[] {
  const lookup = new Map<string, number>();
  vocab.pieces.forEach((p, id) => lookup.set(p, id));
  const tokens: number[] = [1];
  if (text !== '') tokens.push(lookup.get(' ')!);
  for (const cp of text) {
    const id = lookup.get(cp);
    if (id !== undefined) tokens.push(id);
    else for (const byte of Buffer.from(cp, 'utf8')) tokens.push(byte + 3);
  }
  for (;;) {
    let [bestScore, bestId, bestIdx] = [-1e10, -1, -1];
    for (let i = 0; i < tokens.length - 1; i++) {
      // BOS is in the loop too, as in run.c
      const id = lookup.get(vocab.pieces[tokens[i]] + vocab.pieces[tokens[i + 1]]);
      if (id !== undefined && vocab.scores[id] > bestScore) [bestScore, bestId, bestIdx] = [vocab.scores[id], id, i];
    }
    if (bestIdx === -1) return tokens;
    tokens.splice(bestIdx, 2, bestId);
  }
}

function convert(bin: string, name: string): TextTokenizer {
  const out = path.join(dir, name);
  fs.mkdirSync(out, { recursive: true });
  const vocab = readLlama2cTokenizer(bin);
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(toHfTokenizerJson(vocab)));
  fs.writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify(toHfTokenizerConfig()));
  return loadTokenizer(out);
}

function assertAgrees(tok: TextTokenizer, vocab: { pieces: string[]; scores: number[] }, lines: string[]): void {
  for (const line of lines) {
    const ids = tok.encode(line);
    assert.deepEqual(ids, runCEncode(vocab, line), JSON.stringify(line));
    assert.equal(tok.decode(ids, { skipSpecial: true }), line, JSON.stringify(line));
  }
}

const tinyText = ['the cat sat on the mat.', 'The hello', ' hello  the\tcat\n', 'héllo wörld €😀', '', 'x', ' ', 'hellohello'];

test('a tiny synthetic vocab: HF encoding equals run.c and decodes back', () => {
  const { pieces, scores } = tinyVocab();
  const bin = path.join(dir, 'tiny.bin');
  writeTokenizerBin(bin, pieces, scores);
  const vocab = readLlama2cTokenizer(bin, pieces.length);
  assert.equal(vocab.pieces.length, pieces.length);
  assert.equal(vocab.maxTokenLength, 6);
  const tok = convert(bin, 'tiny');
  assertAgrees(tok, { pieces, scores }, tinyText);
  assert.deepEqual(tok.encode('the cat'), [1, 259 + 3, 259 + 6]); // " the", " cat"
});

test('corrupt tokenizer files are rejected with a ColaError naming the file', () => {
  const { pieces, scores } = tinyVocab();
  const bin = path.join(dir, 'good.bin');
  writeTokenizerBin(bin, pieces, scores);
  const bytes = fs.readFileSync(bin);
  const bad = (name: string, b: Buffer, pattern: RegExp, vocabSize?: number) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, b);
    assert.throws(
      () => readLlama2cTokenizer(f, vocabSize),
      (e: unknown) => e instanceof ColaError && e.message.includes(f) && pattern.test(e.message),
      name,
    );
  };
  bad('trunc.bin', bytes.subarray(0, bytes.length - 2), /piece \d+ has length/);
  bad('trunc-head.bin', bytes.subarray(0, bytes.length - 1 - 8 - 6 + 3), /piece|truncated/);
  bad('empty.bin', Buffer.alloc(2), /too short/);
  const negMax = Buffer.from(bytes);
  negMax.writeInt32LE(-5, 0);
  bad('negmax.bin', negMax, /max_token_length -5/);
  const longPiece = Buffer.from(bytes);
  longPiece.writeInt32LE(1 << 30, 4 + 4);
  bad('longpiece.bin', longPiece, /piece 0 has length 1073741824/);
  bad('vocabsize.bin', bytes, /vocab_size is 999/, 999);
  const noBytes = tinyVocab();
  noBytes.pieces[3 + 65] = 'A';
  const nb = path.join(dir, 'nobytes-src.bin');
  writeTokenizerBin(nb, noBytes.pieces, noBytes.scores);
  bad('nobytes.bin', fs.readFileSync(nb), /byte tokens/);
});

function sampleLines(file: string, max: number): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('<|endoftext|>'))
    .slice(0, max);
}

const models = [
  { name: 'stories260K', tok: 'models/stories260K/tok512.bin' },
  { name: 'stories3M', tok: 'models/stories3M/tok4096.bin' },
];

for (const m of models) {
  test(`${m.name}: converted tokenizer.json encodes like run.c on TinyStories and Shakespeare lines`, { skip: skipShared }, () => {
    const bin = path.join(sharedDir, m.tok);
    const tok = convert(bin, m.name);
    const vocab = parseBin(bin);
    const lines = [
      ...sampleLines(path.join(sharedDir, 'data/text/tinystories_sample.txt'), 300),
      ...sampleLines(path.join(sharedDir, 'data/text/tinyshakespeare.txt'), 300),
    ];
    assert.ok(lines.length >= 300, `only ${lines.length} lines`);
    // whole paragraphs too: newlines inside one text go through byte fallback
    const paragraphs = fs.readFileSync(path.join(sharedDir, 'data/text/tinystories_sample.txt'), 'utf8').split('<|endoftext|>');
    assertAgrees(tok, vocab, [...lines, ...paragraphs, ...tinyText]);
  });
}

test('README golden ids: stories260K and stories3M', { skip: skipShared }, () => {
  const t260 = convert(path.join(sharedDir, 'models/stories260K/tok512.bin'), 'g260');
  assert.deepEqual(t260.encode('Once upon a time'), [1, 403, 407, 261, 378]);
  const t3m = convert(path.join(sharedDir, 'models/stories3M/tok4096.bin'), 'g3m');
  const golden: [string, number[]][] = [
    ['Once upon a time', [1, 403, 407, 261, 378]],
    ['Lily and Tom went to the park.', [1, 317, 269, 458, 425, 267, 265, 524, 4010]],
    ['The cat sat on the mat.', [1, 291, 509, 1116, 353, 265, 1579, 4010]],
    ['Hello world!', [1, 346, 2226, 1471, 4027]],
  ];
  for (const [text, ids] of golden) {
    assert.deepEqual(t3m.encode(text), ids, text);
    assert.equal(t3m.decode(ids, { skipSpecial: true }), text);
  }
  assert.equal(t3m.vocabSize, 4096);
  assert.equal(t3m.bosId, 1);
  assert.equal(t3m.eosId, 2);
});
