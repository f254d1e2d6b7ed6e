/** prepareData: the max length (default the model's context, capped with a warning),
 * truncation counts and warnings, text windows that always advance, COPA's option-only
 * LM loss, and MeZO's OPT start token on the tasks. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { OPT_MEZO_BOS, taskTokenizer } from '../../src/data/startToken.js';
import { loadTaskData } from '../../src/data/taskData.js';
import { getTask } from '../../src/data/tasks/registry.js';
import type { TextTokenizer } from '../../src/data/tokenizer.js';
import { tokenizeChoice } from '../../src/data/verbalize.js';
import { ColaError } from '../../src/errors.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { prepareData, textChunks, type DataSpec } from '../../src/train/prepare.js';
import { BOS, byteTokenizer } from '../helpers/byteTokenizer.js';
import { assertClose } from '../helpers/tolerance.js';
import { tinyModel } from '../lora/tinyModel.js';
import { tokenLogProbs } from '../eval/handScores.js';

const dir = fs.mkdtempSync(path.join(tmpdir(), 'cola-prepare-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function jsonl(file: string, rows: unknown[]): string {
  const p = path.join(dir, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

/** Byte tokenizer folded into the tiny model's 32 ids: 3 + byte % 29, BOS 1, EOS 2. */
function smallTokenizer(): TextTokenizer {
  const bytes = byteTokenizer(false);
  return { ...bytes, vocabSize: 32, encode: (text, o = {}) => bytes.encode(text, o).map((id) => (id > 2 ? 3 + ((id - 3) % 29) : id)) };
}

function collect(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

// text rows of 1 + n + 1 tokens (BOS, bytes, EOS): 7 and 9 fit in 16, 31 and 41 do not
const train = jsonl('train.jsonl', [{ text: 'short' }, { text: 'a much longer row of text here' }, { text: 'tiny!!!' }]);
const dev = jsonl('dev.jsonl', [{ text: 'this dev row is far longer than sixteen' }, { text: 'ok' }]);
const files: DataSpec = { data: train, devData: dev, seed: 0 };

test('max length: default the context, longer capped with a warning naming both, < 2 an error', () => {
  const a = collect();
  const d = prepareData(files, byteTokenizer(), { contextLength: 16, warn: a.warn });
  assert.deepEqual(d.truncated, { train: 1, dev: 1, test: 0 }, 'maxLength undefined -> 16');
  assert.ok(!a.messages.some((m) => /--max-length/.test(m)));
  const b = collect();
  assert.deepEqual(prepareData({ ...files, maxLength: 4096 }, byteTokenizer(), { contextLength: 16, warn: b.warn }).truncated, {
    train: 1,
    dev: 1,
    test: 0,
  });
  assert.match(b.messages[0]!, /--max-length 4096 is longer than the model's context of 16 positions; using 16/);
  const c = collect();
  assert.deepEqual(prepareData({ ...files, maxLength: 8 }, byteTokenizer(), { contextLength: 16, warn: c.warn }).truncated, {
    train: 2,
    dev: 1,
    test: 0,
  });
  for (const bad of [1, 0, 2.5, NaN]) {
    assert.throws(
      () => prepareData({ ...files, maxLength: bad }, byteTokenizer(), { contextLength: 16 }),
      (e: unknown) => e instanceof ColaError && /--max-length must be an integer of at least 2 .*found/.test(e.message),
    );
  }
});

test('truncated examples are printed per split, and each split above 1% is warned', () => {
  const a = collect();
  prepareData({ ...files, maxLength: 8 }, byteTokenizer(), { contextLength: 16, warn: a.warn });
  assert.deepEqual(a.messages, [
    'left-truncated to 8 tokens (start token kept): train 2 of 3, dev 1 of 2, test 0 of 0 examples',
    'WARNING: 66.7% of the train examples lose their first tokens to truncation (more than 1%); raise --max-length (the model takes up to 16 tokens)',
    'WARNING: 50.0% of the dev examples lose their first tokens to truncation (more than 1%); raise --max-length (the model takes up to 16 tokens)',
  ]);
  const b = collect();
  prepareData({ data: train, seed: 0 }, byteTokenizer(), { contextLength: 64, warn: b.warn });
  assert.deepEqual(b.messages, [], 'nothing truncated, nothing printed');
  // 1 of 200 = 0.5%: counted and printed, not warned
  const many = jsonl('many.jsonl', [{ text: 'x'.repeat(40) }, ...Array.from({ length: 199 }, () => ({ text: 'ok' }))]);
  const c = collect();
  assert.equal(prepareData({ data: many, seed: 0 }, byteTokenizer(), { contextLength: 16, warn: c.warn }).truncated.train, 1);
  assert.equal(c.messages.length, 1);
  assert.match(c.messages[0]!, /train 1 of 200/);
});

test('a corpus split by held-out fractions counts its truncated rows per split, a .txt window never', () => {
  // 10 rows in corpus order: train takes 6, dev 2, test 2 (heldOut.ts); long rows at 1, 6 and 8, 9
  const long = 'a row far longer than sixteen tokens';
  const texts = ['ok', long, 'ok', 'ok', 'ok', 'ok', long, 'ok', long, long];
  const corpus = jsonl(
    'heldout.jsonl',
    texts.map((text) => ({ text })),
  );
  const heldOut = { devFraction: 0.2, testFraction: 0.2 };
  const a = collect();
  const d = prepareData({ data: corpus, heldOut, seed: 0 }, byteTokenizer(), { contextLength: 16, warn: a.warn });
  assert.deepEqual(d.counts, { train: 6, dev: 2, test: 2 });
  assert.deepEqual(d.truncated, { train: 1, dev: 1, test: 2 });
  assert.match(a.messages[0]!, /left-truncated to 16 tokens .*train 1 of 6, dev 1 of 2, test 2 of 2 examples/);
  // with a .txt corpus first, the JSONL rows keep their own flags after its windows
  const txt = path.join(dir, 'heldout.txt');
  fs.writeFileSync(txt, 'plain text cut into windows of the max length, never truncated');
  const both = prepareData({ data: `${txt},${corpus}`, heldOut, seed: 0 }, byteTokenizer(), { contextLength: 16 });
  const windows = textChunks(fs.readFileSync(txt, 'utf8'), byteTokenizer(), 16).length;
  const total = windows + texts.length;
  const nTest = Math.round(total * 0.2),
    nDev = Math.round(total * 0.2);
  const isLong = [...Array<boolean>(windows).fill(false), ...texts.map((t) => t === long)];
  const count = (from: number, to: number) => isLong.slice(from, to).filter(Boolean).length;
  const nTrain = total - nDev - nTest;
  assert.deepEqual(both.truncated, { train: count(0, nTrain), dev: count(nTrain, nTrain + nDev), test: count(nTrain + nDev, total) });
});

test('textChunks: every window advances, whatever the max length; 1 is an error, not a hang', () => {
  const tok = byteTokenizer();
  const text = 'abcdefghij';
  assert.throws(() => textChunks(text, tok, 1), ColaError);
  assert.throws(() => textChunks(text, tok, 0), ColaError);
  for (const maxLength of [2, 3, 7, 64]) {
    const chunks = textChunks(text, tok, maxLength);
    assert.ok(chunks.every((c) => c.ids.length <= maxLength && c.ids[0] === BOS));
    // the windows, BOS removed, are the text's tokens in order
    const body = chunks.flatMap((c) => c.ids.slice(1));
    assert.deepEqual(body, tok.encode(text, { addBos: false }).slice(0, body.length));
    assert.ok(body.length >= text.length - 1, `maxLength ${maxLength}: covers the text`);
  }
});

const COPA_ROWS = [
  { premise: 'My body cast a shadow.', choice1: 'The sun was rising.', choice2: 'The grass was cut.', question: 'cause', label: 0, idx: 0 },
  { premise: 'The girl got a trophy.', choice1: 'She won.', choice2: 'She lost.', question: 'cause', label: 0, idx: 1 },
  { premise: 'I dropped the glass.', choice1: 'It broke.', choice2: 'It sang.', question: 'effect', label: 0, idx: 2 },
  { premise: 'He was cold.', choice1: 'He ran.', choice2: 'He put on a coat.', question: 'effect', label: 1, idx: 3 },
];
jsonl('tasks/COPA/train.jsonl', COPA_ROWS);
jsonl('tasks/COPA/val.jsonl', COPA_ROWS.slice(0, 2));
const copa: DataSpec = { task: 'copa', dataDir: path.join(dir, 'tasks'), seed: 0, numTrain: 3, numDev: 1, numTest: 2 };

test('COPA trains LM-style with the loss on the gold option tokens only (finetune.sh + only_train_option)', () => {
  const tok = smallTokenizer();
  const model = tinyModel();
  const d = prepareData(copa, tok, { contextLength: 64 });
  assert.equal(d.train.kind, 'lm');
  const rows = loadTaskData(getTask('copa'), copa.dataDir!, 0, { numTrain: 3, numDev: 1, numEval: 2 }).train;
  for (let i = 0; i < rows.length; i++) {
    const ex = tokenizeChoice(tok, rows[i]!);
    const full = ex.fullIds[ex.label]!;
    const option = tokenLogProbs(model, full).slice(-ex.candidateIds[ex.label]!.length);
    const want = -option.reduce((s, x) => s + x, 0) / option.length;
    const got = noGrad(() => d.train.loss(model, [i]));
    assertClose([got.loss.f32[0]!], [want], { dtype: 'f32', what: `COPA example ${i} loss` });
  }
});

test("OPT's start token as MeZO sets it (run.py:174-176): id 0 on the tasks, the tokenizer's own elsewhere", () => {
  const tok = byteTokenizer();
  const opt = taskTokenizer(tok, 'opt');
  assert.equal(opt.bosId, OPT_MEZO_BOS);
  assert.deepEqual(opt.encode('ab', { addBos: true }), [0, ...tok.encode('ab', { addBos: false })]);
  assert.deepEqual(opt.encode('ab'), tok.encode('ab', { addBos: false }));
  assert.equal(opt.decode(tok.encode('ab')), 'ab');
  assert.equal(taskTokenizer(tok, 'llama'), tok);
  // through prepareData: the first token of every training row the model is given
  const firstTokens = (spec: DataSpec, modelType?: string): number[] => {
    const model = tinyModel();
    const loss = model.loss.bind(model);
    const seen: number[] = [];
    model.loss = (ids, targets) => {
      const [B, T] = ids.shape as [number, number]; // (B, T)
      for (let b = 0; b < B; b++) seen.push(ids.i32[b * T]!);
      return loss(ids, targets);
    };
    const d = prepareData(spec, smallTokenizer(), { contextLength: 64, modelType });
    noGrad(() =>
      d.train.loss(
        model,
        Array.from({ length: d.train.size }, (_, i) => i),
      ),
    );
    return seen;
  };
  assert.deepEqual(firstTokens(copa, 'opt'), [0, 0, 0]);
  assert.deepEqual(firstTokens(copa, 'llama'), [BOS, BOS, BOS]);
  assert.deepEqual(firstTokens({ data: train, seed: 0 }, 'opt'), [BOS, BOS, BOS], 'text data keeps the tokenizer start token');
});
