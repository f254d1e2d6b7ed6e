// `cola train --resume` checks what it resumes (issue 16, part 2): a change that breaks
// the run is refused with the list of differences, a safe one is allowed and said, and
// a finished run resumes to a no-op that leaves every file as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { runEvents as events, stepLosses as losses } from '../helpers/runFolder.js';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const dir = makeTmpDir('cli-resume');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
// the same architecture and shapes, other weights
const otherModel = tinyModelDir(dir, 61);
const corpus = writeCorpus(p('corpus.txt'), 24);
const train = (out: string, ...extra: string[]) => [
  'train',
  ...['--model', model, '--data', corpus, '--max-length', '16', '--batch-size', '4', '--lr', '0.01', '--schedule', 'constant'],
  ...['--out', out, '--quiet', ...extra],
];
const read = (f: string) => fs.readFileSync(f, 'utf8');

function assertUserError(r: ReturnType<typeof cola>, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit ${r.status}:\n${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at /m);
}

function finishedRun(name: string, ...extra: string[]): string {
  const out = p(name);
  const r = cola(train(out, '--method', 'lora', '--max-steps', '4', ...extra));
  assert.equal(r.status, 0, r.stderr);
  return out;
}

test('resume with a new --lr or --rank is refused, listing each change old -> new; nothing is written', () => {
  const run = finishedRun('changed');
  const before = read(path.join(run, 'metrics.jsonl'));
  assertUserError(cola(train(run, '--method', 'lora', '--max-steps', '4', '--resume', '--lr', '0.02')), /run\.optim\.lr: 0\.01 → 0\.02/);
  const r = cola(train(run, '--method', 'lora', '--max-steps', '4', '--resume', '--rank', '4', '--alpha', '8'));
  assertUserError(r, /run\.lora\.r: 8 → 4\n\s+run\.lora\.alpha: 16 → 8\n[^\n]*Resume with the run's own settings/);
  assert.match(r.stderr, /--config .*config\.json --out .* --resume/, 'the message says how to resume with the run’s own settings');
  assert.equal(read(path.join(run, 'metrics.jsonl')), before);
});

test('resume on another base model of the same shapes is refused (by its weights, not its path)', () => {
  const run = finishedRun('other-model', '--save-every', '2');
  const args = train(run, '--method', 'lora', '--max-steps', '6', '--resume');
  args[args.indexOf(model)] = otherModel;
  assertUserError(cola(args), /another base model/);
  // the same model through another path is the same model
  const link = p('model-link');
  fs.symlinkSync(model, link);
  const same = train(run, '--method', 'lora', '--max-steps', '6', '--resume');
  same[same.indexOf(model)] = link;
  assert.equal(cola(same).status, 0);
});

test('resume of a finished run is a no-op: metrics.jsonl, config.json and report.html stay byte-identical', () => {
  const run = finishedRun('finished');
  const files = ['metrics.jsonl', 'config.json', 'report.html', 'adapter/adapter_model.safetensors'];
  const before = files.map((f) => fs.readFileSync(path.join(run, f)));
  const done = events(run).at(-1)!;
  assert.equal(done['event'], 'done');
  assert.equal(typeof done['final_loss'], 'number');
  const r = cola(train(run, '--method', 'lora', '--max-steps', '4', '--resume', '--save-every', '1').filter((a) => a !== '--quiet'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /already finished \(4 steps\); nothing to do/);
  files.forEach((f, i) => assert.deepEqual(fs.readFileSync(path.join(run, f)), before[i], `${f} unchanged`));
  // the run's own record, as the refusal message suggests, resumes it too
  const again = cola(['train', '--config', path.join(run, 'config.json'), '--out', run, '--resume']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /nothing to do/);
  files.forEach((f, i) => assert.deepEqual(fs.readFileSync(path.join(run, f)), before[i], `${f} unchanged`));
});

test('resume with more --max-steps is allowed, says so, and continues on the curve of a run given that budget', () => {
  const run = finishedRun('more');
  const r = cola(train(run, '--method', 'lora', '--max-steps', '7', '--resume').filter((a) => a !== '--quiet'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /run\.budget\.maxSteps: 4 → 7: allowed, the run goes on from step 4 to step 7/);
  const fresh = p('fresh7');
  assert.equal(cola(train(fresh, '--method', 'lora', '--max-steps', '7')).status, 0);
  assert.deepEqual(losses(run), losses(fresh), 'constant LR: resumed 4 -> 7 equals 7 from the start');
  const done = events(run).at(-1)!;
  assert.equal(done['step'], 7);
  // the run's elapsed time goes on across the resume
  const elapsed = events(run).flatMap((e) => (e['event'] === 'step' ? [e['elapsed_s'] as number] : []));
  assert.ok(
    elapsed.every((x, i) => i === 0 || x >= elapsed[i - 1]!),
    `elapsed_s never goes back: ${elapsed.join(', ')}`,
  );
});

test('a new budget that moves a knot already tied is refused; a safe flag alone is allowed and said', () => {
  const out = p('chain');
  assert.equal(cola(train(out, '--method', 'cola', '--chain-length', '2', '--max-steps', '4', '--save-every', '1')).status, 0);
  assertUserError(
    cola(train(out, '--method', 'cola', '--chain-length', '2', '--max-steps', '8', '--resume')),
    /run\.budget\.maxSteps: 4 → 8: link 1 was merged at step 2, but the new budget puts that knot at step 4/,
  );
  const r = cola(
    train(out, '--method', 'cola', '--chain-length', '2', '--max-steps', '4', '--resume', '--save-every', '3').filter(
      (a) => a !== '--quiet',
    ),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /run\.saveEvery: 1 → 3 \(no effect on the numbers\)/);
  assert.match(r.stderr, /nothing to do/);
});
