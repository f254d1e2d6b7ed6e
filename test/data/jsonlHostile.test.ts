/** Hostile JSONL and text files: huge lines, deep nesting, a BOM, empty files. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { loadJsonlDataset, readTextCorpus } from '../../src/data/formats.js';
import { MAX_JSON_DEPTH, parseJsonl, preview, readJsonl } from '../../src/data/jsonl.js';
import type { TextTokenizer } from '../../src/data/tokenizer.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('jsonl-hostile');

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

test('a 200 MB line is refused with file and line number, never held whole; --skip-bad skips it', () => {
  const file = path.join(dir, 'huge.jsonl');
  fs.writeFileSync(file, '{"text":"ok"}\n{"text":"');
  fs.truncateSync(file, 200 << 20); // a sparse run of NUL bytes: one 200 MB line
  fs.appendFileSync(file, '"}\n{"text":"after"}\n');
  const t0 = Date.now();
  assert.throws(
    () => readJsonl(file),
    (e: unknown) => e instanceof ColaError && e.message.startsWith(`${file} line 2: the line is longer than the 33554432-byte limit`),
  );
  const r = readJsonl(file, { skipBad: true });
  assert.deepEqual(
    r.rows.map((x) => [x.line, x.value.text]),
    [
      [1, 'ok'],
      [3, 'after'],
    ],
  );
  assert.equal(r.skipped, 1);
  assert.ok(Date.now() - t0 < 5000);
});

test('lines across chunk boundaries and multi-byte characters read back exactly', () => {
  const long = 'é'.repeat(700_000) + '😀'; // 1.4 MB: crosses the 1 MiB chunk
  const file = write('chunks.jsonl', `${JSON.stringify({ text: long })}\r\n\n${JSON.stringify({ text: 'b' })}`);
  const r = readJsonl(file);
  assert.deepEqual(
    r.rows.map((x) => [x.line, x.value.text]),
    [
      [1, long],
      [3, 'b'],
    ],
  );
  assert.throws(() => readJsonl(file, { maxLineBytes: 1000 }), /line 1: the line is longer than the 1000-byte limit/);
});

test('a row nested 100000 deep is refused (and skippable) without overflowing the stack', () => {
  const deep = '{"text":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
  const file = write('deep.jsonl', `{"text":"a"}\n${deep}\n`);
  assert.throws(
    () => readJsonl(file),
    (e: unknown) =>
      e instanceof ColaError && new RegExp(`line 2: the row nests arrays/objects more than ${MAX_JSON_DEPTH} deep`).test(e.message),
  );
  assert.equal(readJsonl(file, { skipBad: true }).rows.length, 1);
  assert.equal(parseJsonl(deep, 'x.jsonl', { skipBad: true }).skipped, 1);
  const value = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
  assert.match(preview(value), /too deeply nested/);
});

test('a UTF-8 BOM at the start of a JSONL or text file is accepted', () => {
  const file = write('bom.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"text":"a"}\n')]));
  assert.equal(readJsonl(file).rows[0].value.text, 'a');
  assert.equal(parseJsonl('\uFEFF{"text":"a"}', 'x').rows.length, 1);
  assert.equal(readTextCorpus(write('bom.txt', '\uFEFFhello')), 'hello');
});

test('an empty or blank .jsonl / .txt says there is nothing to train or evaluate on', () => {
  const tok = {} as TextTokenizer; // never reached: the check comes first
  for (const content of ['', '\n\n  \n']) {
    const file = write('empty.jsonl', content);
    assert.throws(
      () => loadJsonlDataset(file, tok),
      (e: unknown) => e instanceof ColaError && e.message.startsWith(`${file}: nothing to train or evaluate on`),
    );
    const txt = write('empty.txt', content);
    assert.throws(
      () => readTextCorpus(txt),
      (e: unknown) => e instanceof ColaError && e.message.includes(`${txt}: nothing to train or evaluate on`),
    );
  }
  const bad = write('allbad.jsonl', 'nope\n[1]\n');
  assert.throws(() => loadJsonlDataset(bad, tok, { skipBad: true }), /all 2 non-blank lines were bad/);
});
