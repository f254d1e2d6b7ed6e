// Ctrl-C in `cola experiment` goes through the same worker as `cola train`
// (src/cli/worker.ts): the cell in progress stops with a checkpoint and the command
// exits 130 (resuming a stopped cell is test/experiment/cell.test.ts's).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cellDir } from '../../src/experiment/grid.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin, waitForSteps } from '../helpers/trainRuns.js';

test('Ctrl-C during cola experiment: the running cell keeps a checkpoint, exit 130, the message says how to continue', async () => {
  const modelDir = tinyModelFolder(5);
  const work = path.dirname(modelDir);
  const corpus = tinyCorpus(work, 60);
  const out = path.join(work, 'exp');
  const settings = '--methods lora --lrs 1e-3 --seeds 1 --epochs 100 --batch-size 2 --max-length 16 --save-every 0'.split(' ');
  const child = spawn(process.execPath, [colaBin, 'experiment', '--model', modelDir, '--data', corpus, ...settings, '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, COLA_BACKEND: 'reference' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const cell = cellDir(out, { task: 'corpus', method: 'lora', lr: 1e-3, seed: 0 });
  await waitForSteps(child, cell, 5);
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /cola experiment: stopping after this step and saving a checkpoint/);
  assert.match(stderr, /stopped at step \d+ \(checkpoint saved; rerun the same command to resume\)/);
  assert.match(stderr, /cola experiment: stopped; rerun the same command to continue where it stopped/);
  assert.ok(fs.existsSync(path.join(cell, 'checkpoint/state.json')));
  assert.ok(!fs.existsSync(path.join(cell, 'result.json')), 'a stopped cell is not finished');
});
