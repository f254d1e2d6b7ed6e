/** The protocol on the real files in ../shared/data (skipped when absent). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadTaskData } from '../../src/data/taskData.js';
import { taskSummary } from '../../src/data/summary.js';
import { getTask } from '../../src/data/tasks/registry.js';
import { jsonlRows } from '../../src/data/tasks/common.js';
import { tokenizeChoice } from '../../src/data/verbalize.js';
import { byteTokenizer } from '../helpers/byteTokenizer.js';
import { sharedData, skipShared } from './paths.js';

const EXPECTED: Record<string, [number, number, number]> = {
  'SST-2': [1000, 500, 872],
  RTE: [1000, 500, 277],
  CB: [150, 100, 56],
  WSC: [54, 500, 104],
  WiC: [1000, 500, 638],
  MultiRC: [1000, 500, 1000],
  COPA: [300, 100, 100],
};

test('split sizes per task (seeds 0 and 42)', { skip: skipShared }, () => {
  for (const [task, want] of Object.entries(EXPECTED)) {
    for (const seed of [0, 42]) {
      const s = taskSummary(task, sharedData, seed);
      assert.deepEqual([s.train, s.dev, s.test], want, `${task} seed ${seed}`);
    }
  }
  assert.deepEqual(taskSummary('MultiRC', sharedData, 0).available, { train: 27243, val: 4848 });
});

test('BoolQ: no train split -> clear error; --boolq-from-val and --fewglue work', { skip: skipShared }, () => {
  assert.throws(() => taskSummary('BoolQ', sharedData, 0), /--boolq-from-val .*--fewglue/);
  const v = taskSummary('BoolQ', sharedData, 0, 0, { source: 'val' });
  assert.deepEqual([v.train, v.dev, v.test], [1000, 500, 1000]);
  const f = taskSummary('BoolQ', sharedData, 0, 0, { source: 'fewglue' });
  assert.deepEqual([f.train, f.dev, f.test], [32, 32, 1000]);
  const m = taskSummary('MultiRC', sharedData, 0, 0, { source: 'fewglue' });
  assert.deepEqual([m.train, m.dev], [154, 167]);
});

test('carved BoolQ splits share no passage+question', { skip: skipShared }, () => {
  const d = loadTaskData(getTask('BoolQ'), sharedData, 5, { source: 'val' });
  const key = (r: { prompt: string }) => r.prompt;
  const train = new Set(d.train.map(key));
  assert.ok(d.test.every((r) => !train.has(key(r))) && d.dev.every((r) => !train.has(key(r))));
});

test('prompts on real rows match method.md exactly', { skip: skipShared }, () => {
  const first = (dir: string) => jsonlRows(path.join(sharedData, dir, 'val.jsonl'))[0].data;
  const rte = first('RTE');
  assert.equal(getTask('rte').render(rte).prompt, `${rte.premise}\nDoes this mean that "${rte.hypothesis}" is true? Yes or No?\n`);
  const boolq = first('BoolQ');
  const q = String(boolq.question);
  // the SuperGLUE title "Ethanol fuel -- " is cut, as in HF boolq which MeZO reads
  assert.ok(String(boolq.passage).startsWith('Ethanol fuel -- All biomass'));
  const passage = String(boolq.passage).slice('Ethanol fuel -- '.length);
  assert.equal(getTask('boolq').render(boolq).prompt, `${passage} ${q[0].toUpperCase()}${q.slice(1)}?\n`);
  const copa = first('COPA');
  assert.equal(getTask('copa').render(copa).prompt, 'The man turned on the faucet so');
  const sst = loadTaskData(getTask('sst2'), sharedData, 0).test;
  assert.equal(sst.length, 872);
  assert.ok(
    sst.every((r) => r.prompt.endsWith(' It was') && !r.prompt.endsWith('  It was')),
    'trailing space before the tab is trimmed',
  );
});

test('every sampled example renders and tokenizes; candidate tokens follow the prompt', { skip: skipShared }, () => {
  const tok = byteTokenizer();
  for (const task of Object.keys(EXPECTED)) {
    const d = loadTaskData(getTask(task), sharedData, 1);
    for (const r of [...d.train.slice(0, 50), ...d.test.slice(0, 50)]) {
      assert.ok(r.label >= 0 && r.label < r.candidates.length);
      assert.equal(r.prompt, r.prompt.replace(/^ +| +$/g, ''));
      const ex = tokenizeChoice(tok, r);
      ex.texts.forEach((t, i) => {
        assert.deepEqual(ex.fullIds[i], tok.encode(t, { addBos: true }));
        assert.deepEqual([...ex.promptIds, ...ex.candidateIds[i]], ex.fullIds[i]);
      });
    }
  }
});

test('BoolQ: every SuperGLUE / FewGLUE passage loses its "Title -- " prefix and nothing else', { skip: skipShared }, () => {
  for (const file of ['BoolQ/val.jsonl', 'FewGLUE_32dev/BoolQ/train.jsonl', 'FewGLUE_32dev/BoolQ/dev32.jsonl']) {
    const rows = jsonlRows(path.join(sharedData, file));
    for (const { data } of rows) {
      const passage = String(data.passage);
      const prompt = getTask('boolq').render(data).prompt;
      const title = passage.slice(0, passage.indexOf(' -- '));
      assert.ok(title.length > 0 && !prompt.startsWith(`${title} -- `), `${file} idx ${String(data.idx)}: title kept`);
      // the rest of the passage, its own " -- " dashes included, is there whole
      assert.ok(prompt.startsWith(`${passage.slice(title.length + 4)} `), `${file} idx ${String(data.idx)}: passage cut`);
    }
  }
});

test('WSC: every rendered span occurs verbatim in its sentence (HF wsc.fixed)', { skip: skipShared }, () => {
  const spans = (prompt: string) => /does the pronoun "(.*)" refer to (.*)\? Yes or No\?\n$/s.exec(prompt);
  for (const file of ['WSC/train.jsonl', 'WSC/val.jsonl', 'FewGLUE_32dev/WSC/train.jsonl', 'FewGLUE_32dev/WSC/dev32.jsonl']) {
    for (const { data, where } of jsonlRows(path.join(sharedData, file))) {
      const text = String(data.text);
      const m = spans(getTask('wsc').render(data).prompt);
      assert.ok(m, where);
      assert.ok(text.includes(m[2]), `${where}: span1 "${m[2]}" not in "${text}"`);
      // span2 is lower-cased by the template (MeZO templates.py:250)
      assert.ok(text.toLowerCase().includes(m[1]), `${where}: span2 "${m[1]}" not in "${text}"`);
    }
  }
  // the seed-0 training prompts, the 54 the paper's protocol trains on
  const train = loadTaskData(getTask('wsc'), sharedData, 0).train;
  assert.equal(train.length, 54);
  for (const r of train) {
    const [sentence] = r.prompt.split('\nIn the previous sentence');
    assert.ok(sentence.includes(spans(r.prompt)![2]), r.prompt);
  }
});
