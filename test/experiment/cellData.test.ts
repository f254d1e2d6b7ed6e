// A cell's data as its config.json records it (experiment/data.ts cellData) and the
// held-out corpus split prepareData makes from it (train/heldOut.ts): what `cola eval
// --run CELL` rebuilds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { cellData } from '../../src/experiment/data.js';
import { experimentConfig, type ExperimentFlags } from '../../src/experiment/flags.js';
import { splitHeldOut } from '../../src/train/heldOut.js';
import { prepareData } from '../../src/train/prepare.js';
import { byteTokenizer } from '../helpers/byteTokenizer.js';

const exp = { model: 'm', out: 'o', devFraction: 0.2, testFraction: 0.1 } as unknown as ExperimentFlags;

test('cellData: a corpus cell records its files (absolute) and held-out split, a task cell its task and sampling, as cola train records them', () => {
  const c = experimentConfig(exp, {}, { dataDir: 'data', numDev: 3, maxLength: 24, skipBad: true, dataSeed: 7 });
  const corpus = cellData({ name: 'a+b', corpus: 'a.txt, b.jsonl' }, c, 7);
  assert.equal(corpus.data, [path.resolve('a.txt'), path.resolve('b.jsonl')].join(','));
  assert.deepEqual(corpus.heldOut, { devFraction: 0.2, testFraction: 0.1 });
  assert.deepEqual([corpus.task, corpus.seed, corpus.numDev, corpus.maxLength, corpus.skipBad], [undefined, 7, 3, 24, true]);
  const task = cellData({ name: 'RTE' }, c, 7);
  assert.deepEqual([task.task, task.dataDir, task.seed, task.numDev, task.data, task.heldOut], ['RTE', 'data', 7, 3, undefined, undefined]);
  assert.equal(task.skipBad, false, 'cola train refuses --skip-bad with --task: a replay must not carry it');
});

test('splitHeldOut: contiguous blocks in order (train, dev, test at the end), each cut to its num*; impossible splits refused', () => {
  const rows = Array.from({ length: 20 }, (_, i) => i);
  const s = splitHeldOut(rows, { devFraction: 0.2, testFraction: 0.1 }, { maxLength: 8, what: 'x' });
  assert.deepEqual([s.train, s.dev, s.test], [rows.slice(0, 14), rows.slice(14, 18), rows.slice(18)]);
  const cut = splitHeldOut(rows, { devFraction: 0.2, testFraction: 0.1 }, { numTrain: 3, numDev: 1, numTest: 1, maxLength: 8, what: 'x' });
  assert.deepEqual([cut.train, cut.dev, cut.test], [[0, 1, 2], [14], [18]]);
  for (const h of [
    { devFraction: 0.5, testFraction: 0.5 },
    { devFraction: 0, testFraction: 0.1 },
    { devFraction: Number.NaN, testFraction: 0.1 },
  ])
    assert.throws(() => splitHeldOut(rows, h, { maxLength: 8, what: 'x' }), /must each be in \(0, 1\)/);
  assert.throws(
    () => splitHeldOut(rows.slice(0, 3), { devFraction: 0.1, testFraction: 0.1 }, { maxLength: 8, what: 'x' }),
    /cannot be split/,
  );
});

test('prepareData with heldOut refuses --dev-data (the dev split is held out of --data)', () => {
  const spec = { data: 'a.txt', devData: 'b.txt', heldOut: { devFraction: 0.1, testFraction: 0.1 }, seed: 0, skipBad: false };
  assert.throws(
    () => prepareData(spec, byteTokenizer(false), { contextLength: 16 }),
    (e: Error) => e instanceof ColaError && /--dev-data b\.txt: .* drop --dev-data/.test(e.message),
  );
});
