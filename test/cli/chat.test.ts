// Issue 16 item 1 through the real CLI: a llama2.c conversion has no chat template, and
// --chat-template lets train / eval / generate / data use {"messages"} rows with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fineTune } from '../../src/api/fineTune.js';
import { generateText } from '../../src/api/generateText.js';
import { loadPretrained } from '../../src/api/load.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const dir = makeTmpDir('cli-chat');
const model = tinyModelDir(dir);
const conversation = [
  { role: 'user', content: 'the cat?' },
  { role: 'assistant', content: 'the cat sat.' },
];
const chat = path.join(dir, 'chat.jsonl');
const rows = [
  { messages: conversation },
  {
    messages: [
      { role: 'system', content: 'hello' },
      ...conversation,
      { role: 'user', content: 'the mat?' },
      { role: 'assistant', content: 'on the mat.' },
    ],
  },
];
fs.writeFileSync(chat, [...rows, ...rows].map((r) => JSON.stringify(r)).join('\n') + '\n');
const messagesFile = path.join(dir, 'conversation.json');
fs.writeFileSync(messagesFile, JSON.stringify({ messages: conversation.slice(0, 1) }));

function ok(args: string[]): string {
  const r = cola(args);
  assert.equal(r.status, 0, `cola ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}
function fails(args: string[], re: RegExp): void {
  const r = cola(args);
  assert.equal(r.status, 1, `cola ${args.join(' ')} should fail:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, re);
}

const train = ['train', '--model', model, '--data', chat, '--method', 'lora', '--max-steps', '2', '--batch-size', '2', '--quiet'];

test('train on chat rows: without a template it says how to give one; with --chat-template it trains and records it', () => {
  fails(
    [...train, '--out', path.join(dir, 'no-template')],
    /needs a chat template, but the tokenizer has none: give one with --chat-template/,
  );
  const out = path.join(dir, 'run');
  ok([...train, '--chat-template', 'chatml', '--out', out]);
  const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(config.run.data.chatTemplate, 'chatml');
  assert.ok(fs.existsSync(path.join(out, 'adapter', 'adapter_model.safetensors')));
  fails([...train, '--chat-template', 'chatlm', '--out', path.join(dir, 'typo')], /--chat-template "chatlm": neither a built-in template/);
});

test('fineTune({ chatTemplate }) trains the same as cola train --chat-template', () => {
  const { model: m, tokenizer } = loadPretrained(model, { backend: 'reference' });
  const r = fineTune({
    model: m,
    tokenizer,
    data: chat,
    chatTemplate: 'llama-2',
    method: 'lora',
    maxSteps: 2,
    batchSize: 2,
    outDir: path.join(dir, 'api'),
  });
  assert.equal(r.counts.train, 4);
  const cli = path.join(dir, 'cli-llama2');
  ok([...train, '--chat-template', 'llama-2', '--out', cli]);
  const read = (d: string) => fs.readFileSync(path.join(d, 'adapter', 'adapter_model.safetensors'));
  assert.deepEqual(read(path.join(dir, 'api')), read(cli));
});

test('eval --data chat rows with --chat-template; a template file works too', () => {
  fails(['eval', '--model', model, '--data', chat], /needs a chat template/);
  const m = JSON.parse(ok(['eval', '--model', model, '--data', chat, '--chat-template', 'zephyr', '--json']));
  assert.ok(m.loss > 0 && m.tokens > 0);
  const file = path.join(dir, 'zephyr.jinja');
  fs.writeFileSync(
    file,
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
  );
  assert.deepEqual(JSON.parse(ok(['eval', '--model', model, '--data', chat, '--chat-template', file, '--json'])), m);
});

test('generate --messages applies the template with its generation prompt', () => {
  const args = ['generate', '--model', model, '--messages', messagesFile, '--max-new-tokens', '4'];
  fails(args, /needs a chat template/);
  const said = ok([...args, '--chat-template', 'chatml']);
  const { model: m, tokenizer } = loadPretrained(model, { backend: 'reference' });
  assert.equal(said, generateText(m, tokenizer, conversation.slice(0, 1), { maxNewTokens: 4, chatTemplate: 'chatml' }) + '\n');
  fails([...args, '--prompt', 'x'], /give --prompt TEXT or --messages FILE, not both/);
  fails(['generate', '--model', model, '--prompt', 'x', '--chat-template', 'chatml'], /--chat-template applies to --messages/);
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([{ role: 'user' }, { role: 'assistant', content: 'x' }]));
  fails(['generate', '--model', model, '--messages', bad, '--chat-template', 'chatml'], /message\(s\) 1 lack a string "role" or "content"/);
});

test('generate checks its flags before loading the model, every problem at once', () => {
  const r = cola(['generate', '--model', path.join(dir, 'missing'), '--top-k', '3', '--max-new-tokens', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--max-new-tokens must be an integer of at least 1, got 0/);
  assert.match(r.stderr, /--top-k applies to sampling, but --temperature is 0/);
});

test('data --data --model shows rendered rows with the loss tokens marked, for every format, and counts truncated rows', () => {
  fails(['data', '--data', chat, '--model', model], /needs a chat template/);
  const out = ok(['data', '--data', chat, '--model', model, '--chat-template', 'llama-2', '--show', '2']);
  assert.match(out, /4 chat rows; \d+ tokens, \d+ with loss; 2 row\(s\) longer than 64 tokens \(the model's context\) are left-truncated/);
  assert.match(out, /loss on the assistant turns only/);
  assert.ok(out.includes('\n<s> [INST] the cat? [/INST][[ the cat sat. </s>]]\n'), out);
  assert.ok(
    out.includes(
      'first 8 tokens cut\n<s><<SYS>>\nhello\n<</SYS>>\n\nthe cat? [/INST][[ the cat sat. </s>]]<s> [INST] the mat? [/INST][[ on the mat. </s>]]',
    ),
    out,
  );
  const cut = JSON.parse(ok(['data', '--data', chat, '--model', model, '--chat-template', 'chatml', '--max-length', '40', '--json']));
  assert.deepEqual([cut.format, cut.rows, cut.truncated, cut.maxLength], ['chat', 4, 4, 40]);
  const pc = path.join(dir, 'pc.jsonl');
  fs.writeFileSync(pc, JSON.stringify({ prompt: 'the cat', completion: ' sat.' }) + '\n');
  assert.match(ok(['data', '--data', pc, '--model', model, '--show', '1']), /\n<s> the cat\[\[\s+sat\.<\/s>\]\]\n/);
  const text = path.join(dir, 'text.jsonl');
  fs.writeFileSync(text, JSON.stringify({ text: 'hello.' }) + '\n');
  assert.match(ok(['data', '--data', text, '--model', model, '--show', '1']), /text rows.*\n.*\n.*\n<s>\[\[ hello\.<\/s>\]\]/);
  const cls = path.join(dir, 'cls.jsonl');
  fs.writeFileSync(cls, JSON.stringify({ prompt: 'the cat is', candidates: [' sat', ' mat'], label: 1 }) + '\n');
  assert.match(ok(['data', '--data', cls, '--model', model, '--show', '1']), /<s> the cat is\[\[ mat\]\]/);
  const txt = writeCorpus(path.join(dir, 'corpus.txt'));
  assert.match(ok(['data', '--data', txt, '--model', model]), /\.txt corpus in windows/);
  const both = ok(['data', '--data', `${text},${txt}`, '--model', model, '--json'])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    both.map((p) => [path.basename(p.file), p.format]),
    [
      ['text.jsonl', 'text'],
      ['corpus.txt', 'txt'],
    ],
    'one preview per file, in the order given',
  );
  fails(['data', '--data', `${text},${dir}/none.jsonl`, '--model', model], /none\.jsonl: file not found/);
  const long = cola(['data', '--data', text, '--model', model, '--max-length', '999']);
  assert.match(long.stderr, /--max-length 999 is longer than the model's context \(64\); using 64/);
  fails(['data', '--data', chat], /--model DIR is required with --data/);
  fails(['data', '--data', chat, '--model', model, '--task', 'rte'], /--task applies to --task; drop it for --data/);
});
