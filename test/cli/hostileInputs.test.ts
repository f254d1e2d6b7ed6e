// Untrusted model files, adapters, templates and data through the real CLI: each crafted
// input ends quickly in exit 1 with one message naming the file and key (never exit 70,
// "internal error", a stack trace or a hang), and the benign variants still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { sparseSafetensors } from '../io/sparseSafetensors.js';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const dir = makeTmpDir('cli-hostile');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = writeCorpus(p('corpus.txt'));

/** A copy of the tiny model with one change. */
function variant(name: string, change: (d: string) => void): string {
  const d = p(name);
  fs.cpSync(model, d, { recursive: true });
  change(d);
  return d;
}
const editJson = (file: string, edit: (j: Record<string, unknown>) => void) => {
  const j = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
};

const redosTokenizer = variant('redos-tok', (d) =>
  editJson(path.join(d, 'tokenizer.json'), (j) => {
    j.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+b' }, behavior: 'Isolated', invert: false };
  }),
);
const wordLevel = variant('wordlevel', (d) =>
  editJson(path.join(d, 'tokenizer.json'), (j) => ((j.model as Record<string, unknown>).type = 'WordLevel')),
);
const templateBomb = variant('template-bomb', (d) =>
  editJson(path.join(d, 'tokenizer_config.json'), (j) => (j.chat_template = '{% for i in range(100000000) %}x{% endfor %}')),
);
const nestedBomb = variant('nested-bomb', (d) =>
  editJson(
    path.join(d, 'tokenizer_config.json'),
    (j) => (j.chat_template = '{% for i in range(50000) %}{% for j in range(50000) %}{{ i }}{% endfor %}{% endfor %}'),
  ),
);
const dupTensor = variant('dup-tensor', (d) => {
  const entry = (a: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${a},${a + 4}]}`;
  sparseSafetensors(path.join(d, 'model.safetensors'), [], `{"a":${entry(0)},"b":${entry(4)},"a":${entry(8)}}`);
  fs.truncateSync(path.join(d, 'model.safetensors'), fs.statSync(path.join(d, 'model.safetensors')).size + 12);
});
const silentTemplate = variant('silent-template', (d) =>
  editJson(path.join(d, 'tokenizer_config.json'), (j) => (j.chat_template = '{% for m in messages %}{% endfor %}')),
);
const huge = variant('huge', (d) =>
  sparseSafetensors(path.join(d, 'model.safetensors'), [['model.embed_tokens.weight', 'F32', [1 << 20, 1 << 18]]]),
);

// a real adapter, then edited copies of it
const trained = cola(['train', '--model', model, '--data', corpus, '--max-steps', '4', '--max-length', '16', '--out', p('run'), '--quiet']);
assert.equal(trained.status, 0, trained.stderr);
const adapterVariant = (name: string, change: (d: string) => void) => {
  const d = p(name);
  fs.cpSync(p('run', 'adapter'), d, { recursive: true });
  change(d);
  return d;
};
const redosAdapter = adapterVariant('redos-adapter', (d) =>
  editJson(path.join(d, 'adapter_config.json'), (j) => (j.target_modules = '(.|.)*z')),
);
const rankRedos = adapterVariant('rank-redos', (d) =>
  editJson(path.join(d, 'adapter_config.json'), (j) => (j.rank_pattern = { '(.|.)*z': 2 })),
);
const modulesToSave = adapterVariant('mts', (d) => editJson(path.join(d, 'adapter_config.json'), (j) => (j.modules_to_save = ['lm_head'])));
const badChain = adapterVariant('bad-chain', (d) => fs.writeFileSync(path.join(d, 'cola_chain.json'), '{"links": ['));

const chatData = p('chat.jsonl');
fs.writeFileSync(
  chatData,
  JSON.stringify({
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'the cat' },
    ],
  }) + '\n',
);
const deep = p('deep.jsonl');
fs.writeFileSync(deep, `{"text":"the cat sat."}\n{"text":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`);
const longLine = p('long.jsonl');
fs.writeFileSync(longLine, '{"text":"');
fs.truncateSync(longLine, 200 << 20);
fs.appendFileSync(longLine, '"}\n');
fs.writeFileSync(p('empty.jsonl'), '');
fs.writeFileSync(p('blank.txt'), '\n  \n');
fs.writeFileSync(p('bom.jsonl'), '\uFEFF{"text":"the cat sat on the mat."}\n');

const prompt = 'a'.repeat(38);
const gen = (m: string, ...extra: string[]) => ['generate', '--model', m, '--prompt', prompt, '--max-new-tokens', '2', ...extra];
const ev = (data: string, ...extra: string[]) => ['eval', '--model', model, '--data', data, '--max-length', '16', ...extra];
const tr = (m: string, data: string) => [
  'train',
  '--model',
  m,
  '--data',
  data,
  '--max-steps',
  '4',
  '--max-length',
  '16',
  '--out',
  p('x'),
  '--quiet',
];

/** [what, argv, what the message must match] */
const cases: Array<[string, string[], RegExp]> = [
  [
    'catastrophic pre-tokenizer regex',
    gen(redosTokenizer),
    /tokenizer\.json.*\n.*pre_tokenizer\.pattern\.Regex "\(a\+\)\+b": .*nested quantifiers/,
  ],
  ['unknown tokenizer model type', gen(wordLevel), /tokenizer\.json: model\.type "WordLevel" is not supported/],
  [
    'chat template looping 10^8 times',
    tr(templateBomb, chatData),
    /chat template: refusing to render it: it (asked for range\(\) of|passes) 100000000/,
  ],
  ['nested chat template loops', tr(nestedBomb, chatData), /chat template: refusing to render it: it took more than/],
  [
    'catastrophic target_modules regex',
    gen(model, '--adapter', redosAdapter),
    /adapter_config\.json.*\n.*target_modules regex "\(\.\|\.\)\*z" is refused/,
  ],
  [
    'catastrophic rank_pattern key',
    gen(model, '--adapter', rankRedos),
    /adapter_config\.json.*\n.*rank_pattern key "\(\.\|\.\)\*z" is refused/,
  ],
  ['modules_to_save without tensors', gen(model, '--adapter', modulesToSave), /adapter_config\.json: modules_to_save lists "lm_head"/],
  ['corrupt cola_chain.json', gen(model, '--adapter', badChain), /cola_chain\.json.*invalid JSON/],
  ['duplicate tensor name', ['info', '--model', dupTensor], /model\.safetensors: header names "a" twice/],
  ['a 1 TB tensor', gen(huge), /model\.safetensors: loading 1 tensors as f32 needs 1024\.0 GiB of memory/],
  [
    'a chat template that renders nothing (eval)',
    ['eval', '--model', silentTemplate, '--data', chatData, '--max-length', '16'],
    /chat\.jsonl: nothing to evaluate: no token to predict/,
  ],
  [
    'a chat template that renders nothing (train)',
    tr(silentTemplate, chatData),
    /chat\.jsonl: the training examples have no token to predict/,
  ],
  ['a 200 MB JSONL line', ev(longLine), /long\.jsonl line 1: the line is longer than the 33554432-byte limit/],
  ['a JSONL row nested 100000 deep', ev(deep), /deep\.jsonl line 2: the row nests arrays\/objects more than 64 deep/],
  ['an empty .jsonl (eval)', ev(p('empty.jsonl')), /empty\.jsonl: nothing to train or evaluate on/],
  ['an empty .jsonl (train)', tr(model, p('empty.jsonl')), /empty\.jsonl: nothing to train or evaluate on/],
  [
    'an empty .jsonl (train, --method lora)',
    [...tr(model, p('empty.jsonl')), '--method', 'lora'],
    /empty\.jsonl: nothing to train or evaluate on/,
  ],
  ['a blank .txt (train)', tr(model, p('blank.txt')), /blank\.txt: nothing to train or evaluate on/],
  ['a blank .txt (eval)', ev(p('blank.txt')), /blank\.txt: nothing to train or evaluate on/],
];

for (const [what, args, pattern] of cases) {
  test(`hostile input: ${what}`, () => {
    const t0 = Date.now();
    const r = cola(args);
    assert.equal(r.status, 1, `exit ${r.status} for cola ${args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.ok(r.stderr.split('\n').length <= 12, `too long:\n${r.stderr}`);
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
  });
}

test('hostile input: cola info describes a folder declaring a 1 TB tensor without loading it', () => {
  const r = cola(['info', '--model', huge, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).memory_bytes, 2 ** 40);
});

test('hostile input: --skip-bad skips a too-deep row, and a BOM is accepted', () => {
  const skipped = cola(ev(deep, '--skip-bad', '--json'));
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /skipped 1 bad line/);
  const bom = cola(ev(p('bom.jsonl'), '--json'));
  assert.equal(bom.status, 0, bom.stderr);
});
