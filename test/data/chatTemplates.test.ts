// Issue 16 item 1: a model without a chat template can train on {"messages"} rows when
// a template is given (--chat-template / fineTune chatTemplate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assistantSpans, chatPromptIds, chatToLm } from '../../src/data/chat.js';
import { BUILTIN_CHAT_TEMPLATES, CHAT_TEMPLATE_NAMES, withChatTemplate } from '../../src/data/chatTemplates.js';
import type { ChatMessage, TextTokenizer } from '../../src/data/tokenizer.js';
import { makeRunConfig } from '../../src/cola/runConfig.js';
import { ColaError } from '../../src/errors.js';
import { BOS, byteTokenizer } from '../helpers/byteTokenizer.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('chat-templates');
const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi?' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Bye?' },
  { role: 'assistant', content: 'Bye now.' },
];
/** The byte tokenizer without a template, reporting the special-token texts a loaded folder would. */
const bare = (): TextTokenizer => ({ ...byteTokenizer(false), templateVars: { bos_token: '<s>', eos_token: '</s>' } });
const render = (tok: TextTokenizer) => (m: ChatMessage[], o?: { addGenerationPrompt?: boolean }) => tok.applyChatTemplate!(m, o);

// What each format's documentation shows for one exchange (user "Hi?", assistant "Hello.").
const ONE_EXCHANGE: Record<string, string> = {
  chatml: '<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n',
  'llama-2': '<s>[INST] Hi? [/INST] Hello. </s>',
  'llama-3':
    '<s><|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>',
  mistral: '<s>[INST] Hi? [/INST]Hello.</s>',
  zephyr: '<|user|>\nHi?</s>\n<|assistant|>\nHello.</s>\n',
  gemma: '<s><start_of_turn>user\nHi?<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n',
  'phi-3': '<|user|>\nHi?<|end|>\n<|assistant|>\nHello.<|end|>\n',
};

test('every built-in template renders the documented layout with the tokenizer bos/eos texts', () => {
  assert.deepEqual([...CHAT_TEMPLATE_NAMES].sort(), Object.keys(ONE_EXCHANGE).sort());
  for (const name of CHAT_TEMPLATE_NAMES) {
    const tok = withChatTemplate(bare(), name);
    assert.equal(tok.applyChatTemplate!(conversation.slice(1, 3)), ONE_EXCHANGE[name], name);
  }
});

test('every built-in template: turns render as prefixes, the trained spans are the assistant turns and the system text is kept', () => {
  for (const name of CHAT_TEMPLATE_NAMES) {
    const tok = withChatTemplate(bare(), name);
    const { text, spans } = assistantSpans(conversation, render(tok), name);
    const trained = spans.filter((s) => s.train).map((s) => text.slice(s.start, s.end));
    assert.equal(trained.length, 2, name);
    assert.match(trained[0]!, /^\s?Hello\.\s?\S/, name); // the answer and its end-of-turn marker
    assert.match(trained[1]!, /^\s?Bye now\.\s?\S/, name);
    assert.ok(!trained.join('').includes('Hi?') && !trained.join('').includes('Be brief'), name);
    assert.ok(text.includes('Be brief.'), `${name} drops the system message`);
    // the generation prompt is what comes before the first answer
    const prompt = tok.applyChatTemplate!(conversation.slice(0, 2), { addGenerationPrompt: true });
    assert.equal(text.slice(0, spans.find((s) => s.train)!.start), prompt, name);
  }
});

test('a tokenizer without a template: chat rows fail naming --chat-template; with one they train on assistant tokens only', () => {
  const msgs = conversation.slice(1, 3);
  assert.throws(
    () => chatToLm(bare(), msgs),
    (e: Error) => e instanceof ColaError && /--chat-template \(chatml, llama-2/.test(e.message),
  );
  const tok = withChatTemplate(bare(), 'chatml');
  const ex = chatToLm(tok, msgs);
  assert.equal(ex.ids[0], BOS);
  const lossText = tok.decode(ex.ids.filter((_, i) => ex.lossMask[i] === 1));
  assert.equal(lossText, 'Hello.<|im_end|>\n');
  // the template that writes BOS itself gets no second one
  const llama = chatToLm(withChatTemplate(bare(), 'llama-2'), msgs);
  assert.equal(llama.ids.filter((id) => id === BOS).length, 1);
  // the generation prompt: everything before the answer
  assert.deepEqual(chatPromptIds(tok, msgs.slice(0, 1)), ex.ids.slice(0, ex.lossMask.indexOf(1)));
});

test('withChatTemplate leaves the tokenizer as it was and keeps its methods', () => {
  const base = byteTokenizer();
  const own = base.applyChatTemplate!(conversation);
  const tok = withChatTemplate(base, 'zephyr');
  assert.equal(base.applyChatTemplate!(conversation), own);
  assert.notEqual(tok.applyChatTemplate!(conversation), own);
  assert.deepEqual(tok.encode('ab', { addBos: true }), base.encode('ab', { addBos: true }));
  assert.equal(withChatTemplate(base, undefined), base);
  const copied = { ...tok }; // other wrappers (taskTokenizer) spread it: every field must be its own
  assert.deepEqual(
    [copied.bosId, copied.eosId, copied.vocabSize, copied.decode([40, 41])],
    [base.bosId, base.eosId, base.vocabSize, base.decode([40, 41])],
  );
  // without reported texts, the decoded BOS/EOS ids (the byte tokenizer decodes them to '')
  assert.equal(withChatTemplate(byteTokenizer(false), 'mistral').applyChatTemplate!(conversation.slice(1, 3)), '[INST] Hi? [/INST]Hello.');
});

test('a Jinja file as the template; unknown names and files, bad roles and hostile templates are ColaErrors', () => {
  const file = path.join(dir, 'plain.jinja');
  fs.writeFileSync(
    file,
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}",
  );
  const tok = withChatTemplate(bare(), file);
  assert.equal(tok.applyChatTemplate!(conversation.slice(1, 2), { addGenerationPrompt: true }), 'user: Hi?\nassistant: ');
  assert.throws(() => withChatTemplate(bare(), 'chatml3'), /"chatml3": neither a built-in template \(chatml, .*phi-3\) nor a Jinja file/);
  const broken = path.join(dir, 'broken.jinja');
  fs.writeFileSync(broken, '{% for m in messages %}');
  assert.throws(
    () => withChatTemplate(bare(), broken),
    (e: Error) => e instanceof ColaError && /does not parse/.test(e.message),
  );
  const loop = path.join(dir, 'loop.jinja');
  fs.writeFileSync(loop, '{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}');
  assert.throws(() => withChatTemplate(bare(), loop).applyChatTemplate!(conversation), /refusing to render it/);
  assert.throws(
    () => withChatTemplate(bare(), 'llama-2').applyChatTemplate!([{ role: 'tool', content: '{}' }]),
    (e: Error) => e instanceof ColaError && /llama-2 chat template knows the roles .*found "tool"/.test(e.message),
  );
});

test('the run config carries --chat-template, refuses an unknown one and one without --data', () => {
  const cfg = makeRunConfig({ out: dir }, { data: 'x.jsonl', chatTemplate: 'gemma' });
  assert.equal(cfg.data.chatTemplate, 'gemma');
  assert.equal(makeRunConfig({ out: dir }, { data: 'x.jsonl' }).data.chatTemplate, undefined);
  assert.throws(() => makeRunConfig({ out: dir }, { data: 'x.jsonl', chatTemplate: 'nope' }), /--chat-template "nope": neither/);
  assert.throws(
    () => makeRunConfig({ out: dir }, { task: 'rte', dataDir: dir, chatTemplate: 'chatml' }),
    /--chat-template applies to \{"messages"\} rows of a --data file/,
  );
});

test('an unknown template name lists every built-in with its layout', () => {
  const problem = (() => {
    try {
      withChatTemplate(bare(), 'llama2');
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  for (const [name, t] of Object.entries(BUILTIN_CHAT_TEMPLATES)) assert.ok(problem.includes(`${name.padEnd(8)} ${t.about}`), name);
});
