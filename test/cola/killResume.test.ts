import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin as cola, stepLosses, waitForSteps } from '../helpers/trainRuns.js';

test('kill -9 during a COLA run, then --resume: the loss curve equals the uninterrupted run', async () => {
  const modelDir = tinyModelFolder(5);
  const work = path.dirname(modelDir);
  const data = tinyCorpus(work, 60);
  const args = (out: string): string[] => [
    cola,
    'train',
    '--model',
    modelDir,
    '--data',
    data,
    '--method',
    'cola',
    '--chain-length',
    '3',
    '--epochs',
    '4',
    '--batch-size',
    '2',
    '--max-length',
    '16',
    '--lr',
    '5e-3',
    '--save-every',
    '1',
    '--out',
    out,
    '--quiet',
  ];
  const full = path.join(work, 'full');
  const r = spawnSync(process.execPath, args(full), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const expected = stepLosses(full);
  assert.ok(expected.length >= 12, `expected a run of several steps, got ${expected.length}`);

  const killed = path.join(work, 'killed');
  const child = spawn(process.execPath, args(killed), { stdio: 'ignore' });
  // kill -9 once a few steps (past the first knot) are logged
  await waitForSteps(child, killed, Math.floor(expected.length / 2));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const partial = stepLosses(killed).length;
  assert.ok(partial < expected.length, 'the run was killed before the end');
  const resumed = spawnSync(process.execPath, [...args(killed), '--resume'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(stepLosses(killed), expected);
});
