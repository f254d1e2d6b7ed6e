import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chatToLm } from '../../src/data/chat.js';
import { dataFiles, detectFormat, loadJsonlDataset, promptCompletionToLm, textToLm } from '../../src/data/formats.js';
import type { TextTokenizer } from '../../src/data/tokenizer.js';
import { BOS, EOS, byteTokenizer } from '../helpers/byteTokenizer.js';

const tok = byteTokenizer();
const dir = mkdtempSync(path.join(tmpdir(), 'cola-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

/** The text of the tokens whose loss mask is 1. */
function trained(ids: number[], mask: number[]): string {
  return tok.decode(ids.filter((_, i) => mask[i] === 1));
}

test('text: loss on every token but BOS; EOS appended', () => {
  const ex = textToLm(tok, 'hi there');
  assert.equal(ex.ids[0], BOS);
  assert.equal(ex.ids.at(-1), EOS);
  assert.equal(ex.lossMask[0], 0);
  assert.ok(ex.lossMask.slice(1).every((m) => m === 1));
  assert.equal(trained(ex.ids, ex.lossMask), 'hi there');
});

test('prompt/completion: loss on completion tokens (and EOS) only', () => {
  const ex = promptCompletionToLm(tok, 'Q: 2+2?\nA:', ' 4');
  assert.equal(ex.ids.length, ex.lossMask.length);
  assert.equal(trained(ex.ids, ex.lossMask), ' 4');
  assert.equal(ex.lossMask.filter((m) => m === 1).length, 3); // " ", "4", EOS
  assert.equal(ex.ids.at(-1), EOS);
});

test('chat: loss on assistant turns only, including their end marker', () => {
  const msgs = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
    { role: 'user', content: 'bye' },
    { role: 'assistant', content: 'ciao' },
  ];
  const ex = chatToLm(tok, msgs);
  assert.equal(tok.decode(ex.ids), ex.text);
  assert.equal(ex.ids[0], BOS);
  assert.equal(trained(ex.ids, ex.lossMask), 'hello<|end|>\nciao<|end|>\n');
  assert.throws(() => chatToLm(tok, msgs.slice(0, 2)), /at least one message with role "assistant"/);
  assert.throws(() => chatToLm(byteTokenizer(false), msgs), /needs a chat template/);
});

test('detectFormat recognises the four row shapes', () => {
  assert.equal(detectFormat({ text: 'a' }), 'text');
  assert.equal(detectFormat({ prompt: 'a', completion: 'b' }), 'prompt_completion');
  assert.equal(detectFormat({ messages: [] }), 'chat');
  assert.equal(detectFormat({ prompt: 'a', candidates: ['x', 'y'], label: 0 }), 'classification');
  assert.equal(detectFormat({ foo: 1 }), null);
});

test('loadJsonlDataset: error names file, line and expected shape; skipBad counts', () => {
  const p = file('text.jsonl', [{ text: 'a' }, { text: 'b' }, { prompt: 'x' }, { text: 'c' }, '{oops']);
  assert.throws(
    () => loadJsonlDataset(p, tok),
    (e: Error) => e.message.startsWith(`${p} line 3: expected one of: a JSON object with "text"; `) && /--skip-bad/.test(e.message),
  );
  const r = loadJsonlDataset(p, tok, { skipBad: true });
  assert.equal(r.format, 'text');
  assert.equal(r.lm.length, 3);
  assert.equal(r.skipped, 2);
});

test('loadJsonlDataset: classification rows, label by index or by candidate string', () => {
  const p = file('cls.jsonl', [
    { prompt: 'Good? ', candidates: ['No', 'Yes'], label: 1 },
    { prompt: 'Bad?\n', candidates: ['No', 'Yes'], label: 'No' },
    { prompt: 'x', candidates: ['No', 'Yes'], label: 'Maybe' },
  ]);
  assert.throws(() => loadJsonlDataset(p, tok), /line 3: .*label "Maybe" is neither/);
  const r = loadJsonlDataset(p, tok, { skipBad: true });
  assert.deepEqual(
    r.classification.map((c) => c.label),
    [1, 0],
  );
  const [a, b] = r.classification;
  assert.deepEqual(a.texts, ['Good? No', 'Good? Yes']); // prompt stripped of spaces, then one space
  assert.deepEqual(b.texts, ['Bad?\nNo', 'Bad?\nYes']); // no space after a newline
  assert.deepEqual(tok.decode(a.candidateIds[1]), ' Yes');
  assert.deepEqual([...a.promptIds, ...a.candidateIds[0]], tok.encode('Good? No', { addBos: true }));
});

test('one file may mix row formats: each row is detected on its own', () => {
  const p = file('mixed.jsonl', [
    { text: 'plain' },
    { prompt: 'Q?', completion: ' A' },
    {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'yo' },
      ],
    },
    { prompt: 'Good? ', candidates: ['No', 'Yes'], label: 1 },
  ]);
  const r = loadJsonlDataset(p, tok);
  assert.deepEqual(r.formats, { text: 1, prompt_completion: 1, chat: 1, classification: 1 });
  assert.equal(r.format, 'text'); // the first row's
  assert.deepEqual(
    r.lm.map((e) => trained(e.ids, e.lossMask)),
    ['plain', ' A', 'yo<|end|>\n'],
  );
  assert.equal(r.classification.length, 1);
  assert.equal(r.firstClassification, `${p} line 4`);
});

test('a row of another format under a forced format is refused without suggesting --skip-bad', () => {
  const p = file('forced.jsonl', [{ text: 'a' }, { prompt: 'Q?', completion: ' A' }]);
  assert.throws(
    () => loadJsonlDataset(p, tok, { format: 'text', skipBad: true }),
    (e: Error) => e.message.includes(`${p} line 2: this is a valid prompt_completion row`) && !/skip-bad/.test(e.message),
  );
});

test('dataFiles: a comma-separated --data value, blanks dropped', () => {
  assert.deepEqual(dataFiles('a.jsonl, b.txt,,'), ['a.jsonl', 'b.txt']);
});

/** A SentencePiece-like stand-in: every encode() starts a word with "▁" (id 3 + 256 = 259),
 * as SentencePiece's dummy prefix does, so encoding a completion on its own adds a
 * piece that encoding the whole text does not. */
function dummyPrefixTokenizer(): TextTokenizer {
  const base = byteTokenizer(false);
  const MARK = 259;
  return {
    ...base,
    vocabSize: 260,
    encode(text, opts = {}) {
      const ids = [MARK, ...base.encode(text)];
      return opts.addBos ? [BOS, ...ids] : ids;
    },
    decode: (ids) => base.decode(ids.filter((i) => i !== MARK)),
  };
}

test('prompt/completion: ids are those of the whole text (no stray "▁" between prompt and completion)', () => {
  const sp = dummyPrefixTokenizer();
  const ex = promptCompletionToLm(sp, 'Q: 2+2?\nA:', ' 4', { appendEos: false });
  assert.deepEqual(ex.ids, sp.encode('Q: 2+2?\nA: 4', { addBos: true }));
  assert.equal(sp.decode(ex.ids.filter((_, i) => ex.lossMask[i] === 1)), ' 4');
  assert.equal(ex.lossMask.filter((m) => m === 1).length, 2);
});

test('prompt/completion: a token straddling the boundary carries the loss (every completion character is predicted)', () => {
  // merges "ab" into one token: the prompt "xa" + completion "b" tokenize as x, ab
  const merging: TextTokenizer = {
    ...byteTokenizer(false),
    encode(text, opts = {}) {
      const ids: number[] = [];
      for (let i = 0; i < text.length; i++) {
        if (text.startsWith('ab', i)) {
          ids.push(300);
          i++;
        } else ids.push(text.charCodeAt(i) + 3);
      }
      return opts.addBos ? [BOS, ...ids] : ids;
    },
  };
  const ex = promptCompletionToLm(merging, 'xa', 'b', { appendEos: false });
  assert.deepEqual(ex.ids, [BOS, 'x'.charCodeAt(0) + 3, 300]);
  assert.deepEqual(ex.lossMask, [0, 0, 1]);
});
