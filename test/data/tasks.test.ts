/** Prompt strings of every task on tiny built-in rows, against method.md section 3 and
 * MeZO large_models/templates.py. Always runs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boolqPassage } from '../../src/data/tasks/boolq.js';
import { parseSst2Tsv } from '../../src/data/tasks/sst2.js';
import { wscSpan } from '../../src/data/tasks/wsc.js';
import { getTask, taskNames } from '../../src/data/tasks/registry.js';
import { joinPromptCandidate } from '../../src/data/verbalize.js';

function render(task: string, row: Record<string, unknown>) {
  const r = getTask(task).render(row);
  return { ...r, texts: r.candidates.map((c) => joinPromptCandidate(r.prompt, c)) };
}

test('SST-2: "{sentence} It was" + " terrible"/" great"', () => {
  const rows = parseSst2Tsv('sentence\tlabel\nit \'s a "charming" \tjourney . \t1\n', 'x.tsv');
  assert.equal(rows[0].data.sentence, 'it \'s a "charming" \tjourney .', 'split on the last tab, trailing space trimmed');
  const r = render('sst2', rows[0].data);
  assert.equal(r.prompt, 'it \'s a "charming" \tjourney . It was');
  assert.deepEqual(r.texts, [`${r.prompt} terrible`, `${r.prompt} great`]);
  assert.equal(r.label, 1);
  assert.throws(() => parseSst2Tsv('sentence\tlabel\nno label here\n', 'x.tsv'), /x\.tsv line 2: expected/);
});

test('RTE', () => {
  const r = render('RTE', { premise: 'P.', hypothesis: 'H.', label: 'not_entailment' });
  assert.equal(r.prompt, 'P.\nDoes this mean that "H." is true? Yes or No?\n');
  assert.deepEqual(r.texts, [`${r.prompt}Yes`, `${r.prompt}No`]);
  assert.equal(r.label, 1);
});

test('CB', () => {
  const r = render('cb', { premise: 'P.', hypothesis: 'h', label: 'neutral' });
  assert.equal(r.prompt, 'Suppose P. Can we infer that "h"? Yes, No, or Maybe?\n');
  assert.deepEqual(r.candidates, ['Yes', 'No', 'Maybe']);
  assert.equal(r.label, 2);
});

test('BoolQ: question capitalised, "?" added once', () => {
  const r = render('boolq', { passage: 'Some passage.', question: 'is it true', label: false });
  assert.equal(r.prompt, 'Some passage. Is it true?\n');
  assert.deepEqual(r.candidates, ['Yes', 'No']);
  assert.equal(r.label, 1);
  assert.equal(render('boolq', { passage: 'p', question: 'done?', label: true }).prompt, 'p Done?\n');
});

test('BoolQ: the SuperGLUE "Title -- " prefix is cut, later dashes and title-less passages kept', () => {
  assert.equal(boolqPassage('Ethanol fuel -- All biomass -- all of it -- burns.'), 'All biomass -- all of it -- burns.');
  assert.equal(boolqPassage('No title here.'), 'No title here.');
  // a " -- " beyond any Wikipedia title length, or after a newline, is part of the text
  const long = `${'word '.repeat(60)}-- more`;
  assert.equal(boolqPassage(long), long);
  assert.equal(boolqPassage('Line one\nline two -- x'), 'Line one\nline two -- x');
  const r = render('boolq', { passage: 'Property tax -- Property tax is local.', question: 'is it local', label: true });
  assert.equal(r.prompt, 'Property tax is local. Is it local?\n');
});

test('WSC: span2 lower-cased', () => {
  const r = render('wsc', { text: 'Tom said He left.', target: { span1_text: 'Tom', span2_text: 'He' }, label: true });
  assert.equal(r.prompt, 'Tom said He left.\nIn the previous sentence, does the pronoun "he" refer to Tom? Yes or No?\n');
  assert.deepEqual(r.candidates, ['No', 'Yes']);
  assert.equal(r.label, 1);
});

test('WSC: spans repaired as HF wsc.fixed (case of the word at the index, trailing ".", newline)', () => {
  const text = 'It was too big, so the table did not fit. The lawyer asked.';
  assert.equal(wscSpan(text, 'The table', 5), 'the table', 'word 5 is "the": lower-cased');
  assert.equal(wscSpan(text, 'the lawyer', 10), 'The lawyer', 'word 10 is "The": capitalised');
  assert.equal(wscSpan(text, 'It was', 0), 'It was', 'occurs verbatim: kept');
  assert.equal(wscSpan('Canopy Huntertropic wrestles.', 'Canopy\nHuntertropic wrestles.', 0), 'Canopy Huntertropic wrestles');
  assert.equal(wscSpan('a b', 'Kamenev and Zinoviev', 0), 'Kamenev and Zinoviev', 'HF leaves these two as they are');
  assert.throws(() => wscSpan(text, 'the chair', 5), /span "the chair" does not occur in the text, even as "the chair"/);
  assert.throws(() => wscSpan(text, 'The sofa', 99), /index 99 is not a word index of the text \(13 words\)/);
  const r = render('wsc', {
    text: 'Mark told Pete many lies about himself, which Pete included in his book. He should have been more skeptical.',
    target: { span1_text: 'pete', span1_index: 2, span2_text: 'He', span2_index: 13 },
    label: false,
  });
  assert.ok(r.prompt.endsWith('does the pronoun "he" refer to Pete? Yes or No?\n'));
});

test('WiC', () => {
  const r = render('wic', { word: 'bank', sentence1: 'A.', sentence2: 'B.', label: false });
  assert.equal(r.prompt, 'Does the word "bank" have the same meaning in these two sentences? Yes, No?\nA.\nB.\n');
  assert.equal(r.label, 0);
});

test('MultiRC', () => {
  const r = render('multirc', { paragraph: 'Para.', question: 'Q?', answer: 'A', label: 1 });
  assert.equal(r.prompt, 'Para.\nQuestion: Q?\nI found this answer "A". Is that correct? Yes or No?\n');
  assert.deepEqual(r.texts[1], `${r.prompt}Yes`);
});

test('COPA: MeZO CopaTemplate (connector, period dropped, choice lower-cased unless "I")', () => {
  const r = render('copa', {
    premise: 'The man turned on the faucet.',
    choice1: 'The toilet filled.',
    choice2: 'Water flowed.',
    question: 'effect',
    label: 1,
  });
  assert.equal(r.prompt, 'The man turned on the faucet so');
  assert.deepEqual(r.texts, ['The man turned on the faucet so the toilet filled.', 'The man turned on the faucet so water flowed.']);
  const c = render('copa', { premise: 'I was tired. ', choice1: 'I slept.', choice2: 'It rained.', question: 'cause', label: 0 });
  assert.deepEqual(c.texts, ['I was tired because I slept.', 'I was tired because it rained.']);
});

test('prompts never start or end with a space; bad rows give clear errors', () => {
  for (const name of taskNames()) assert.doesNotThrow(() => getTask(name));
  assert.throws(() => getTask('squad'), /unknown task "squad"; expected one of SST-2, RTE/);
  assert.throws(
    () => render('rte', { premise: 'P', hypothesis: 'H', label: 'maybe' }),
    /expected "label" in "entailment", "not_entailment", found maybe/,
  );
  assert.throws(() => render('rte', { premise: 'P', label: 'entailment' }), /expected string field "hypothesis"/);
  const r = render('sst2', { sentence: '  padded  ', label: 0 });
  assert.equal(r.prompt, 'padded It was');
});
