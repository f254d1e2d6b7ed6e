/** Copa's LM-style training row (MeZO finetune.sh --train_as_classification False with
 * only_train_option True): the gold full text, the loss on its option tokens only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldToLm } from '../../src/data/goldLm.js';
import { tokenizeChoice } from '../../src/data/verbalize.js';
import { byteTokenizer } from '../helpers/byteTokenizer.js';

test('goldToLm: the gold full text, loss on the gold option tokens only', () => {
  const tok = byteTokenizer();
  const ex = tokenizeChoice(tok, { prompt: 'It rained so', candidates: ['we stayed in.', 'we swam.'], label: 1 });
  const lm = goldToLm(ex);
  assert.deepEqual(lm.ids, tok.encode('It rained so we swam.', { addBos: true }));
  assert.equal(lm.text, 'It rained so we swam.');
  const trained = tok.decode(lm.ids.filter((_, i) => lm.lossMask[i] === 1));
  assert.equal(trained, ' we swam.');
  assert.equal(lm.lossMask.filter((m) => m === 1).length, ex.candidateIds[1]!.length);
});
