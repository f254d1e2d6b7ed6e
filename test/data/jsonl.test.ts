import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColaError } from '../../src/errors.js';
import { parseJsonl } from '../../src/data/jsonl.js';

const text = ['{"text":"a"}', '', '{"text":"b"', '[1,2]', '{"text":"c"}\r'].join('\n');

test('bad JSON names file and 1-based line', () => {
  assert.throws(
    () => parseJsonl(text, 'd.jsonl'),
    (e: unknown) => e instanceof ColaError && /^d\.jsonl line 3: invalid JSON/.test(e.message) && /--skip-bad/.test(e.message),
  );
});

test('skipBad skips and counts bad lines, keeps line numbers of good ones', () => {
  const r = parseJsonl(text, 'd.jsonl', { skipBad: true });
  assert.equal(r.skipped, 2);
  assert.deepEqual(
    r.rows.map((x) => x.line),
    [1, 5],
  );
  assert.equal(r.rows[1].value.text, 'c');
  assert.match(r.skippedReasons[1], /line 4: expected a JSON object, found \[1,2\]/);
});

test('validate hook errors carry the line too', () => {
  assert.throws(
    () => parseJsonl('{"text":"a"}\n{"x":1}', 'f.jsonl', { validate: (v) => (typeof v.text === 'string' ? null : 'expected "text"') }),
    /f\.jsonl line 2: expected "text"/,
  );
});
