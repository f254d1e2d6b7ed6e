// Early stopping under mpirun (issue 19 with issue 18): rank 0 alone evaluates dev, its
// decision reaches every rank right after each evaluation, and the 2-rank run stops at
// the step one process stops at, a finished run on every rank (exit 0).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin } from '../helpers/trainRuns.js';
import { events, maxTensorAbs, maxTensorDiff, mpirunSync, skipMpi } from '../helpers/mpi.js';

const ENV = { COLA_BACKEND: 'reference', OMP_NUM_THREADS: '1' };
const TOL = 1e-5; // the order of f32 sums, as in mpi.test.ts

test('2 ranks with --early-stopping-patience stop at the same step as one process', { skip: skipMpi }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-mpi-early-'));
  const model = tinyModelFolder(7);
  const corpus = tinyCorpus(work, 44);
  // sentences the training corpus does not hold: a high learning rate overfits it and the
  // dev loss turns up after a few steps
  const dev = path.join(work, 'dev.txt');
  fs.writeFileSync(dev, 'a hat sat on the cat.\nthe cat sat on a hat.\nhello a mat.\nthe hat sat.\n');
  const args = [
    'train',
    '--model',
    model,
    '--data',
    corpus,
    '--dev-data',
    dev,
    '--batch-size',
    '8',
    '--max-length',
    '16',
    '--lr',
    '5e-2',
    '--method',
    'cola',
    '--chain-length',
    '3',
    '--max-steps',
    '12',
    '--eval-every',
    '1',
    '--early-stopping-patience',
    '2',
    '--quiet',
  ];
  const one = path.join(work, 'one');
  const two = path.join(work, 'two');
  const r1 = spawnSync(process.execPath, [colaBin, ...args, '--out', one], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = mpirunSync(2, [colaBin, ...args, '--out', two], ENV);
  assert.equal(r2.status, 0, r2.stderr);

  const stopOf = (dir: string) => events(dir).find((e) => e['event'] === 'early_stop');
  assert.ok(stopOf(one), 'the single-process run stops early (else this test checks nothing)');
  assert.deepEqual(stopOf(two), stopOf(one));
  const done = (dir: string) => events(dir).find((e) => e['event'] === 'done')!;
  assert.deepEqual(done(two)['early_stop'], done(one)['early_stop']);
  const lastStep = (dir: string) => Math.max(...events(dir).flatMap((e) => (e['event'] === 'step' ? [e['step'] as number] : [])));
  assert.equal(lastStep(two), lastStep(one));
  assert.ok(lastStep(one) < 12, 'stopped before the budget');
  // the same evaluations, and the adapters (the chain as trained) agree
  const evals = (dir: string) => events(dir).filter((e) => e['event'] === 'eval');
  assert.deepEqual(
    evals(two).map((e) => [e['step'], e['evals_since_best']]),
    evals(one).map((e) => [e['step'], e['evals_since_best']]),
  );
  for (const f of ['adapter', 'best/adapter']) {
    const a = path.join(one, f, 'adapter_model.safetensors');
    const b = path.join(two, f, 'adapter_model.safetensors');
    assert.ok(maxTensorDiff(a, b) <= TOL * Math.max(1, maxTensorAbs(a)), f);
  }
});
