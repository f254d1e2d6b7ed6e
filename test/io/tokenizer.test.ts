import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readLlama2cTokenizer, toHfTokenizerConfig, toHfTokenizerJson } from '../../src/io/llama2cTokenizer.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { makeTmpDir } from './tmpdir.js';
import { tinyVocab, writeTokenizerBin } from './llama2cFixtures.js';

const dir = makeTmpDir('tokenizer');
const { pieces, scores } = tinyVocab();
const bin = path.join(dir, 'tok.bin');
writeTokenizerBin(bin, pieces, scores);
const tokenizerJson = toHfTokenizerJson(readLlama2cTokenizer(bin));

/** A model folder holding tokenizer.json plus the given optional files. */
function folder(name: string, files: Record<string, unknown>): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(d, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return d;
}

test('addBos follows tokenizer_config add_bos_token and can be overridden per call', () => {
  const on = loadTokenizer(folder('bos-on', { 'tokenizer_config.json': toHfTokenizerConfig() }));
  const ids = on.encode('the cat');
  assert.equal(ids[0], 1);
  assert.deepEqual(on.encode('the cat', { addBos: false }), ids.slice(1));
  const off = loadTokenizer(folder('bos-off', { 'tokenizer_config.json': { ...toHfTokenizerConfig(), add_bos_token: false } }));
  assert.deepEqual(off.encode('the cat'), ids.slice(1));
  assert.deepEqual(off.encode('the cat', { addBos: true }), ids);
  assert.deepEqual(on.encode(''), [1]);
  assert.deepEqual(on.encode('', { addBos: false }), []);
});

test('without tokenizer_config, BOS comes from the post-processor and eos from generation_config', () => {
  const tok = loadTokenizer(folder('bare', { 'generation_config.json': { bos_token_id: 1, eos_token_id: [2, 5] } }));
  assert.equal(tok.bosId, 1);
  assert.equal(tok.encode('the')[0], 1); // TemplateProcessing adds <s>
  assert.equal(tok.eosId, 2);
  assert.deepEqual(tok.eosIds, [2, 5]);
  assert.equal(tok.vocabSize, pieces.length);
  assert.equal(tok.applyChatTemplate, undefined);
});

test('decode: skipSpecial drops <s>/</s>; byte fallback round-trips any text', () => {
  const tok = loadTokenizer(folder('decode', { 'tokenizer_config.json': toHfTokenizerConfig() }));
  for (const text of ['the cat sat.', '  two leading', 'zürich 😀\nnew line', 'a\u0000b']) {
    assert.equal(tok.decode([...tok.encode(text), 2], { skipSpecial: true }), text, JSON.stringify(text));
  }
  assert.equal(tok.decode(tok.encode('the cat')), '<s> the cat');
  assert.equal(tok.decode([]), '');
});

const template =
  "{{ bos_token }}{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('no bad roles') }}{% endif %}" +
  '[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}';

test('chat templates render from tokenizer_config or chat_template.jinja', () => {
  const msgs = [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
  ];
  const fromConfig = loadTokenizer(folder('chat', { 'tokenizer_config.json': { ...toHfTokenizerConfig(), chat_template: template } }));
  assert.equal(fromConfig.applyChatTemplate!(msgs), '<s>[user] hi</s>[assistant] hello</s>');
  assert.equal(fromConfig.applyChatTemplate!(msgs.slice(0, 1), { addGenerationPrompt: true }), '<s>[user] hi</s>[assistant] ');
  assert.throws(() => fromConfig.applyChatTemplate!([{ role: 'bad', content: '' }]), /no bad roles/);
  const fromFile = loadTokenizer(folder('chat-file', { 'tokenizer_config.json': toHfTokenizerConfig(), 'chat_template.jinja': template }));
  assert.equal(fromFile.applyChatTemplate!(msgs), fromConfig.applyChatTemplate!(msgs));
  const named = loadTokenizer(
    folder('chat-named', { 'tokenizer_config.json': { ...toHfTokenizerConfig(), chat_template: [{ name: 'default', template }] } }),
  );
  assert.equal(named.applyChatTemplate!(msgs), fromConfig.applyChatTemplate!(msgs));
});

test('a folder without tokenizer.json or with broken JSON is a ColaError naming the file', () => {
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  assert.throws(
    () => loadTokenizer(empty),
    (e: unknown) => e instanceof ColaError && e.message.includes(empty) && e.message.includes('no tokenizer.json'),
  );
  const broken = folder('broken', {});
  fs.writeFileSync(path.join(broken, 'tokenizer_config.json'), '{ nope');
  assert.throws(
    () => loadTokenizer(broken),
    (e: unknown) => e instanceof ColaError && /tokenizer_config\.json.*invalid JSON/.test(e.message),
  );
});
