/** tokenizeChoice takes option tokens as MeZO does (utils.py:138-139, run.py:234): the last
 * len(encode(full)) - len(encode(prompt)) tokens of the full text's encoding. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TextTokenizer } from '../../src/data/tokenizer.js';
import { tokenizeChoice } from '../../src/data/verbalize.js';
import { ColaError } from '../../src/errors.js';
import { BOS, byteTokenizer } from '../helpers/byteTokenizer.js';

const MERGED = 300;

/** Byte tokens, except that `piece` becomes one token wherever it occurs (a BPE merge). */
function mergingTokenizer(piece: string): TextTokenizer {
  const bytes = byteTokenizer(false);
  return {
    ...bytes,
    encode(text, opts = {}) {
      const parts = text.split(piece);
      const ids = parts.flatMap((p, i) => [...(i > 0 ? [MERGED] : []), ...bytes.encode(p, { addBos: false })]);
      return opts.addBos ? [BOS, ...ids] : ids;
    },
  };
}

test('prompt tokens a prefix of the full text: option = the candidate tokens after the prompt', () => {
  const tok = byteTokenizer();
  const ex = tokenizeChoice(tok, { prompt: 'It was', candidates: ['bad', 'great'], label: 1 });
  assert.deepEqual(ex.fullIds[1], tok.encode('It was great', { addBos: true }));
  assert.deepEqual(ex.candidateIds[1], tok.encode(' great', { addBos: false }));
  assert.deepEqual([...ex.promptIds, ...ex.candidateIds[0]!], ex.fullIds[0]);
});

test('a merge across the boundary: the full encoding is scored, option = its last option_len tokens', () => {
  const tok = mergingTokenizer('as g'); // "It was" + " great": "w", "as g", "r", "e", "a", "t"
  const ex = tokenizeChoice(tok, { prompt: 'It was', candidates: ['bad', 'great'], label: 1 });
  const full = tok.encode('It was great', { addBos: true });
  assert.equal(full.length - ex.promptIds.length, 3, 'MeZO option_len = 10 - 7');
  assert.deepEqual(ex.fullIds[1], full);
  assert.deepEqual(ex.candidateIds[1], full.slice(-3), 'the last 3 tokens: "eat", not the 6 of " great" alone');
  assert.ok(full.includes(MERGED));
  // the other candidate is unaffected
  assert.deepEqual([...ex.promptIds, ...ex.candidateIds[0]!], ex.fullIds[0]);
});

test('a candidate that adds no token to the prompt is an error naming it (MeZO would score the whole text)', () => {
  const tok = mergingTokenizer('as x'); // "It was x": 7 -> 6 tokens
  assert.throws(
    () => tokenizeChoice(tok, { prompt: 'It was', candidates: ['x', 'y'], label: 0 }, { where: 'f.jsonl line 3' }),
    (e: unknown) =>
      e instanceof ColaError &&
      /f\.jsonl line 3: candidate 0 \("x"\) adds no tokens to the prompt \(6 tokens with it, 7 without\)/.test(e.message),
  );
});
