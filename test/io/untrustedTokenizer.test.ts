/** tokenizer.json and chat templates are untrusted: a crafted regex or template must be
 * refused quickly with an error naming the file and key, and real ones must still work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readLlama2cTokenizer, toHfTokenizerConfig, toHfTokenizerJson } from '../../src/io/llama2cTokenizer.js';
import { regexRisk } from '../../src/io/regexSafety.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { makeTmpDir } from './tmpdir.js';
import { tinyVocab, writeTokenizerBin } from './llama2cFixtures.js';

const dir = makeTmpDir('untrusted-tokenizer');
const { pieces, scores } = tinyVocab();
const bin = path.join(dir, 'tok.bin');
writeTokenizerBin(bin, pieces, scores);
const base = toHfTokenizerJson(readLlama2cTokenizer(bin)) as Record<string, unknown>;

function folder(name: string, json: Record<string, unknown>, files: Record<string, unknown> = {}): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(json));
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(d, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return d;
}

const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

test('regexRisk accepts real tokenizer patterns and refuses catastrophic ones', () => {
  for (const ok of [
    GPT2,
    LLAMA3,
    O200K,
    ' ?[^(\\s|[.,!?…。，、।۔،])]+',
    'q_proj|v_proj',
    'model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj',
    ' {2,}',
  ]) {
    assert.equal(regexRisk(ok, 'oniguruma'), null, ok);
  }
  const refused: [string, RegExp][] = [
    ['(a+)+b', /nested quantifiers/],
    ['(.|.)*z', /several ways/],
    ['(x+x+)+y', /nested quantifiers/],
    ['(a|ab)*c', /several ways/],
    ['(?:a?){20}b', /several ways/],
    ['a?'.repeat(30) + 'a'.repeat(30), /ways/],
    ['(a)\\1', /backreference/],
    ['.*.*.*.*z', /unbounded quantifiers in a row/],
    ['a'.repeat(20_000), /limit/],
    // text the parser cannot follow is refused, never skipped over
    ['[^]*(a+)+b', /never closed|nested quantifiers/],
    ['[[](a+)+b', /never closed|nested quantifiers/],
    ['(a+)+b)', /do not balance/],
    ['((a+)+b', /do not balance/],
  ];
  for (const [bad, why] of refused) {
    for (const dialect of ['oniguruma', 'javascript'] as const)
      assert.match(regexRisk(bad, dialect) ?? 'accepted', why, `${bad} (${dialect})`);
  }
});

test('a class nested in Oniguruma but not in JavaScript is read as each engine does', () => {
  assert.equal(regexRisk('[[](a+)+b]', 'oniguruma'), null); // one class
  assert.match(regexRisk('[[](a+)+b]', 'javascript') ?? '', /nested quantifiers/); // [[] then (a+)+
  assert.match(regexRisk('[^](a+)+b]', 'javascript') ?? '', /nested quantifiers/); // [^] is any character
  assert.match(regexRisk('[](a+)+b]', 'javascript') ?? '', /nested quantifiers/);
});

test('a pre-tokenizer Split regex with catastrophic backtracking is refused at load, naming file and key', () => {
  const d = folder('redos', { ...base, pre_tokenizer: { type: 'Sequence', pretokenizers: [split('(a+)+b')] } });
  const t0 = Date.now();
  assert.throws(
    () => loadTokenizer(d).encode('a'.repeat(38)),
    (e: unknown) =>
      e instanceof ColaError &&
      e.message.includes(path.join(d, 'tokenizer.json')) &&
      e.message.includes('pre_tokenizer.pretokenizers[0].pattern.Regex') &&
      e.message.includes('(a+)+b'),
  );
  assert.ok(Date.now() - t0 < 2000);
  const norm = folder('redos-normalizer', { ...base, normalizer: { type: 'Replace', pattern: { Regex: '(.|.)*z' }, content: '' } });
  assert.throws(
    () => loadTokenizer(norm),
    (e: unknown) => e instanceof ColaError && e.message.includes('normalizer.pattern.Regex'),
  );
});

test('real GPT-2 and Llama-3 Split patterns still load and split text', () => {
  for (const [name, regex] of [
    ['gpt2', GPT2],
    ['llama3', LLAMA3],
  ]) {
    const tok = loadTokenizer(
      folder(`split-${name}`, { ...base, pre_tokenizer: split(regex) }, { 'tokenizer_config.json': toHfTokenizerConfig() }),
    );
    const ids = tok.encode("the cat's   sat", { addBos: false });
    assert.ok(ids.length > 0);
    assert.equal(tok.decode(ids), "the cat's   sat", name);
  }
});

test('an unknown tokenizer model type is refused, naming file and key', () => {
  const d = folder('wordlevel', { ...base, model: { ...(base.model as object), type: 'WordLevel' } });
  assert.throws(
    () => loadTokenizer(d),
    (e: unknown) =>
      e instanceof ColaError && e.message.includes('tokenizer.json') && /model\.type "WordLevel" is not supported/.test(e.message),
  );
});

const msgs = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: 'hello' },
];

function withTemplate(name: string, template: string) {
  return loadTokenizer(folder(name, base, { 'tokenizer_config.json': { ...toHfTokenizerConfig(), chat_template: template } }));
}

test('a chat template looping 10^8 times or nesting loops stops fast with a clear error', () => {
  const cases = [
    '{% for i in range(100000000) %}x{% endfor %}',
    '{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}',
    '{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}',
    "{{ 'a\\nb'|indent(500000000) }}",
    '{{ messages|tojson(indent=400000000) }}',
    "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
  ];
  for (const [i, t] of cases.entries()) {
    const tok = withTemplate(`bomb-${i}`, t);
    const t0 = Date.now();
    assert.throws(
      () => tok.applyChatTemplate!(msgs),
      (e: unknown) => e instanceof ColaError && /chat template: refusing to render it/.test(e.message),
      t,
    );
    assert.ok(Date.now() - t0 < 3000, `${t} took ${Date.now() - t0} ms`);
  }
});

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

test('chatml and llama-3 templates still render; strftime_now and range work under the budget', () => {
  assert.equal(
    withTemplate('chatml', CHATML).applyChatTemplate!(msgs.slice(1), { addGenerationPrompt: true }),
    '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    withTemplate('llama3', LLAMA3_TEMPLATE).applyChatTemplate!(msgs.slice(1, 3)),
    '<s><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nhello<|eot_id|>',
  );
  const year = String(new Date().getFullYear());
  assert.equal(
    withTemplate('date', "{{ strftime_now('%Y') }}{% for i in range(3) %}{{ i }}{% endfor %}").applyChatTemplate!(msgs),
    `${year}012`,
  );
});

test('a 2000-turn conversation renders under the budget with a template that reads messages in its loop', () => {
  const long = Array.from({ length: 2000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }));
  const template = `{% for message in messages %}{% if loop.index0 > 0 and messages[0].role == 'system' %}!{% endif %}${CHATML.slice(CHATML.indexOf('{{'), CHATML.indexOf('{% endfor %}'))}{% endfor %}`;
  const out = withTemplate('long-chat', template).applyChatTemplate!(long);
  assert.equal(out.split('<|im_start|>').length - 1, 2000);
});
