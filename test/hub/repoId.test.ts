import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColaError } from '../../src/errors.js';
import { parseRepoId } from '../../src/hub/repoId.js';

test('parseRepoId accepts ORG/NAME as the Hub spells it', () => {
  for (const id of ['HuggingFaceTB/SmolLM2-135M', 'openai-community/gpt2', 'Qwen/Qwen2.5-0.5B', 'a/b_c.d']) {
    assert.deepEqual(parseRepoId(id), { org: id.split('/')[0], name: id.split('/')[1], id });
  }
});

test('parseRepoId rejects what the Hub would not name a repo, saying what is expected', () => {
  for (const bad of [
    'gpt2',
    'a/b/c',
    '/name',
    'org/',
    'org/na me',
    'org/a--b',
    'org/a..b',
    'org/name.',
    'https://huggingface.co/org/name',
    `o/${'x'.repeat(100)}`,
  ]) {
    assert.throws(
      () => parseRepoId(bad),
      (e: Error) => e instanceof ColaError && /expected ORG\/NAME/.test(e.message),
      bad,
    );
  }
});
