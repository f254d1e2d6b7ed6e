import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chatToLm } from '../../src/data/chat.js';
import { detectFormat, loadJsonlDataset, promptCompletionToLm, textToLm } from '../../src/data/formats.js';
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
    (e: Error) => e.message.startsWith(`${p} line 3: expected a JSON object with "text", found`),
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
