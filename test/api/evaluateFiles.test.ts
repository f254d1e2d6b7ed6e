import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateFiles } from '../../src/api/evaluateFiles.js';
import { evaluateText } from '../../src/api/evaluateText.js';
import { loadPretrained } from '../../src/api/load.js';
import { syntheticText } from '../../src/api/syntheticText.js';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { ColaError } from '../../src/errors.js';
import { evaluateDataFile } from '../../src/web/evalFile.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('evalfiles');
const { model, tokenizer } = loadPretrained(writeTinyModelFolder(path.join(dir, 'model'), { context: 48, layers: 1, hiddenSize: 32 }));
const text = syntheticText('verse', 4, 3);
const write = (name: string, body: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, body);
  return f;
};
const txt = write('a.txt', text);
const jsonl = write(
  'a.jsonl',
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.stringify({ text: l }) + '\n')
    .join(''),
);
const choice = write('c.jsonl', JSON.stringify({ prompt: 'The sky is', candidates: [' blue', ' green'], label: 0 }) + '\n');

test('a .txt file scores as evaluateText does: windows of maxLength, clamped to the context', () => {
  assert.deepEqual(evaluateFiles(model, tokenizer, [txt], { maxLength: 32 }), evaluateText(model, tokenizer, text, { maxLength: 32 }));
  assert.deepEqual(evaluateFiles(model, tokenizer, [txt], { maxLength: 1000 }), evaluateFiles(model, tokenizer, [txt], { maxLength: 48 }));
});

test('the studio page scores its data file with the same code as cola eval', () => {
  for (const f of [txt, jsonl])
    assert.deepEqual(evaluateDataFile(model, tokenizer, f, 16), evaluateFiles(model, tokenizer, [f], { maxLength: 16 }));
});

test('several files are one split; JSONL rows are truncated to maxLength', () => {
  const both = evaluateFiles(model, tokenizer, [txt, jsonl], { maxLength: 16 });
  const a = evaluateFiles(model, tokenizer, [txt], { maxLength: 16 });
  const b = evaluateFiles(model, tokenizer, [jsonl], { maxLength: 16 });
  assert.equal(both['tokens'], a['tokens']! + b['tokens']!);
  assert.ok(Math.abs(both['loss']! - (a['loss']! * a['tokens']! + b['loss']! * b['tokens']!) / both['tokens']!) < 1e-6);
  assert.ok(b['tokens']! < evaluateFiles(model, tokenizer, [jsonl], { maxLength: 48 })['tokens']!);
});

test('classification rows score by accuracy; mixed with LM rows they are refused', () => {
  assert.ok('accuracy' in evaluateFiles(model, tokenizer, [choice], { maxLength: 16 }));
  assert.throws(
    () => evaluateFiles(model, tokenizer, [txt, choice], { maxLength: 16, label: 'x' }),
    (e) => {
      assert.ok(e instanceof ColaError);
      assert.match(e.message, /--data x: classification rows \(in .*c\.jsonl\) and LM rows \(in .*a\.txt\)/);
      return true;
    },
  );
});

test('--skip-bad lines are reported per file; an empty file is refused', () => {
  const bad = write('bad.jsonl', '{"text": "ok then"}\nnot json\n');
  const seen: [string, number][] = [];
  evaluateFiles(model, tokenizer, [bad], { maxLength: 16, skipBad: true, onSkipped: (f, n) => seen.push([f, n]) });
  assert.deepEqual(seen, [[bad, 1]]);
  assert.throws(() => evaluateFiles(model, tokenizer, [write('empty.txt', '')], { maxLength: 16 }), ColaError);
});
