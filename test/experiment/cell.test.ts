// A cell stopped halfway resumes from its checkpoint and ends exactly where an
// uninterrupted cell ends; a finished cell is skipped without training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentCommand, experimentConfigOf } from '../../src/cli/commands/experiment.js';
import { parseOptions } from '../../src/cli/options.js';
import { runCell, type CellInputs } from '../../src/experiment/cell.js';
import { Session } from '../../src/experiment/session.js';
import { parseExperiment } from '../../src/experiment/spec.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';

const model = tinyModelFolder(3);
const work = path.dirname(model);
const corpus = tinyCorpus(work, 80);

function inputs(out: string, shouldStop: () => boolean): CellInputs {
  const argv = [
    '--model',
    model,
    '--backend',
    'reference',
    '--data',
    corpus,
    '--methods',
    'cola-l3',
    '--lrs',
    '5e-3',
    '--seeds',
    '1',
    '--epochs',
    '3',
    '--batch-size',
    '2',
    '--max-length',
    '16',
    '--dev-fraction',
    '0.2',
    '--test-fraction',
    '0.2',
    '--save-every',
    '2',
    '--out',
    out,
  ];
  const config = experimentConfigOf(parseOptions(argv, experimentCommand.options, 'experiment').values);
  const spec = parseExperiment(config);
  return {
    cell: { task: 'corpus', method: 'cola-l3', lr: 5e-3, seed: 0 },
    out,
    config,
    method: spec.methods[0]!,
    task: spec.tasks[0]!,
    session: new Session(config),
    shouldStop,
  };
}

test('a cell stopped mid-chain resumes from its checkpoint to the uninterrupted result; a finished one is skipped', () => {
  const whole = runCell(inputs(path.join(work, 'whole'), () => false));
  assert.equal(whole.status, 'done');
  assert.ok(whole.result.steps >= 12, `a run of several steps, got ${whole.result.steps}`);

  const out = path.join(work, 'split');
  let checks = 0;
  const half = Math.floor(whole.result.steps / 2) + 1; // past the first knot
  const stopped = runCell(inputs(out, () => ++checks > half));
  assert.equal(stopped.status, 'stopped');
  const dir = path.join(out, whole.result.runDir);
  assert.ok(!fs.existsSync(path.join(dir, 'result.json')), 'no result.json for a half-done cell');

  let resumedSteps = 0;
  const resumed = runCell(inputs(out, () => (resumedSteps++, false)));
  assert.equal(resumed.status, 'done');
  assert.equal(resumed.result.resumed, true);
  assert.ok(resumedSteps < whole.result.steps, `continued from the checkpoint (${resumedSteps} steps), not from step 0`);
  for (const key of ['steps', 'tokens', 'dev', 'test', 'links'] as const) assert.deepEqual(resumed.result[key], whole.result[key], key);

  const mtime = fs.statSync(path.join(dir, 'result.json')).mtimeMs;
  let trained = false;
  const again = runCell(inputs(out, () => (trained = true)));
  assert.equal(again.status, 'skipped');
  assert.equal(trained, false, 'a finished cell never enters the training loop');
  assert.equal(fs.statSync(path.join(dir, 'result.json')).mtimeMs, mtime);
});
