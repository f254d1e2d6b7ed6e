// Issue 16 item 2: the library's generate() and generateText() take cola generate's
// defaults (greedy, 256 new tokens, seed 0) and check their options as it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { generateText } from '../../src/api/generateText.js';
import { loadPretrained } from '../../src/api/load.js';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { generateCommand } from '../../src/cli/commands/generate.js';
import { ColaError } from '../../src/errors.js';
import { generate, resolveSampleOptions, SAMPLE_DEFAULTS } from '../../src/models/generate.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('generate');
const modelDir = writeTinyModelFolder(path.join(dir, 'model'), { seed: 7, context: 80 });
const { model, tokenizer } = loadPretrained(modelDir, { backend: 'reference' });
const prompt = tokenizer.encode('O lord', { addBos: true });

test('generate(model, ids, { maxNewTokens }) alone decodes greedily (it crashed without stopIds)', () => {
  const greedy = generate(model, prompt, { maxNewTokens: 5, temperature: 0, seed: 0, stopIds: [] });
  assert.equal(greedy.length, 5);
  assert.deepEqual(generate(model, prompt, { maxNewTokens: 5 }), greedy);
});

test('a missing temperature means greedy, not sampling at temperature undefined', () => {
  const greedy = generate(model, prompt, { maxNewTokens: 6, temperature: 0 });
  assert.deepEqual(generate(model, prompt, { maxNewTokens: 6, topK: undefined, temperature: undefined }), greedy);
  const sampled = generate(model, prompt, { maxNewTokens: 6, temperature: 1, seed: 3 });
  assert.ok(sampled.every((id) => Number.isInteger(id) && id >= 0 && id < model.dims.vocabSize));
  assert.deepEqual(generate(model, prompt, { maxNewTokens: 6, temperature: 1, seed: 3 }), sampled, 'a seed repeats');
});

test('no options: up to 256 new tokens or the end of the context, as cola generate', () => {
  assert.equal(SAMPLE_DEFAULTS.maxNewTokens, 256);
  assert.equal(generate(model, prompt).length, model.dims.maxPositions - prompt.length);
  const flags = generateCommand.options;
  assert.equal(flags['max-new-tokens']!.default, SAMPLE_DEFAULTS.maxNewTokens);
  assert.equal(flags['temperature']!.default, SAMPLE_DEFAULTS.temperature);
  assert.equal(flags['seed']!.default, SAMPLE_DEFAULTS.seed);
  assert.equal(generateText(model, tokenizer, 'O lord'), generateText(model, tokenizer, 'O lord', { ...SAMPLE_DEFAULTS }));
});

test('bad options are ColaErrors naming every problem at once', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ maxNewTokens: 0 }, /maxNewTokens must be an integer of at least 1, got 0/],
    [{ maxNewTokens: 2.5 }, /maxNewTokens must be an integer/],
    [{ temperature: -1 }, /temperature must be >= 0/],
    [{ temperature: NaN }, /temperature must be >= 0/],
    [{ temperature: 1, topK: -2 }, /topK must be an integer of at least 0/],
    [{ temperature: 1, topP: 0 }, /topP must be in \(0, 1\]/],
    [{ temperature: 1, topP: 1.5 }, /topP must be in \(0, 1\]/],
    [{ seed: 0.5 }, /seed must be an integer/],
    [{ stopIds: [1.5] }, /stopIds must be a list of token ids/],
    [{ topK: 5 }, /topK applies to sampling, but temperature is 0 \(greedy\)/],
    [{ topP: 0.9 }, /topP applies to sampling/],
  ];
  for (const [o, re] of cases) {
    assert.throws(
      () => generate(model, prompt, o),
      (e: Error) => e instanceof ColaError && re.test(e.message),
      JSON.stringify(o),
    );
    assert.throws(() => generateText(model, tokenizer, 'O', o), re, `generateText ${JSON.stringify(o)}`);
  }
  assert.throws(() => resolveSampleOptions({ maxNewTokens: 0, temperature: -1 }), /maxNewTokens.*\n.*temperature/s);
  assert.throws(() => resolveSampleOptions({ topK: 2 }, (k) => `--${k}`), /--topK applies to sampling, but --temperature is 0/);
});

test('the prompt ids are checked: empty, outside the vocabulary, or filling the context', () => {
  assert.throws(() => generate(model, []), /the prompt has no tokens/);
  assert.throws(() => generate(model, [1, model.dims.vocabSize]), /prompt ids must be integers in \[0, \d+\)/);
  assert.throws(() => generate(model, [-1]), ColaError);
  const long = Array.from({ length: model.dims.maxPositions }, () => prompt[1]!);
  assert.throws(() => generate(model, long), /the prompt is 80 tokens but the model's context is 80/);
});

test('generateText takes a conversation and a chat template for it (text prompts refuse one)', () => {
  const messages = [{ role: 'user', content: 'O lord' }];
  assert.throws(() => generateText(model, tokenizer, messages, { maxNewTokens: 2 }), /needs a chat template/);
  const said = generateText(model, tokenizer, messages, { maxNewTokens: 3, chatTemplate: 'chatml' });
  assert.equal(said, generateText(model, tokenizer, '<|im_start|>user\nO lord<|im_end|>\n<|im_start|>assistant\n', { maxNewTokens: 3 }));
  assert.throws(() => generateText(model, tokenizer, 'O lord', { chatTemplate: 'chatml' }), /chatTemplate applies to a conversation/);
});
