// Ctrl-C in `cola train` (issue "Ctrl-C stops cleanly after saving a checkpoint"): the run
// trains on a worker thread, so SIGINT is seen mid-run; it stops at the next step with a
// checkpoint, exits 130, and --resume finishes it on the loss curve of an uninterrupted run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin, stepLosses, waitForSteps } from '../helpers/trainRuns.js';

// Same backend for every run of the comparison, whatever addon is built.
const env = { ...process.env, COLA_BACKEND: 'reference' };

test('Ctrl-C during cola train: checkpoint at the step reached, exit 130, no adapter; --resume gives the uninterrupted loss curve', async () => {
  const modelDir = tinyModelFolder(5);
  const work = path.dirname(modelDir);
  const data = tinyCorpus(work, 60);
  // 20 epochs of 15 steps, knots at 100 and 200; --save-every 0: the only mid-link
  // checkpoint can come from the stop itself.
  const settings = '--method cola --chain-length 3 --epochs 20 --batch-size 2 --max-length 16 --lr 5e-3 --save-every 0'.split(' ');
  const args = (out: string): string[] => [colaBin, 'train', '--model', modelDir, '--data', data, ...settings, '--out', out];
  const full = path.join(work, 'full');
  const r = spawnSync(process.execPath, [...args(full), '--quiet'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const expected = stepLosses(full);
  assert.equal(expected.length, 300);

  const stopped = path.join(work, 'stopped');
  const child = spawn(process.execPath, args(stopped), { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  await waitForSteps(child, stopped, 110); // past the first knot
  // progress comes out while training, not when the worker ends
  assert.match(stderr, /link 1\/3 {2}step 1\/300 /, `no live progress line:\n${stderr}`);
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.once('exit', resolve));

  assert.equal(code, 130, stderr);
  assert.match(stderr, /cola train: stopping after this step and saving a checkpoint/);
  const reached = Number(
    /cola train: stopped at step (\d+) with a checkpoint; resume with the same command plus --resume/.exec(stderr)?.[1],
  );
  assert.ok(reached >= 110 && reached < 300, `stopped at step ${reached}:\n${stderr}`);
  assert.equal(stepLosses(stopped).length, reached);
  assert.equal(JSON.parse(fs.readFileSync(path.join(stopped, 'checkpoint/state.json'), 'utf8')).step, reached);
  assert.ok(!fs.existsSync(path.join(stopped, 'adapter')), 'a stopped run exports no final adapter');

  const resumed = spawnSync(process.execPath, [...args(stopped), '--resume', '--json'], { encoding: 'utf8', env });
  assert.equal(resumed.status, 0, resumed.stderr);
  const events = resumed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual([events[0].event, events[0].step, events.at(-1).event], ['step', reached + 1, 'done']);
  assert.deepEqual(stepLosses(stopped), expected);
  assert.ok(fs.existsSync(path.join(stopped, 'adapter/adapter_model.safetensors')));
});
