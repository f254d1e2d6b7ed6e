// Runs you can replay and re-evaluate (issue 16, part 3): `cola train --config RUN/config.json`
// replays a run from its own record, `cola eval --run RUN` scores the run's own splits
// (the dev score is the one it logged), and `cola train` prints and records test metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { runEvents as events, stepLosses as losses } from '../helpers/runFolder.js';
import { cola, tinyModelDir, writeRte } from './harness.js';

const dir = makeTmpDir('cli-replay');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const otherModel = tinyModelDir(dir, 61);
const dataDir = writeRte(p('data'));

// A task run whose sampling differs from every default: a replay or an eval that
// dropped one of these flags would score other examples.
const run = p('run');
const trained = cola([
  'train',
  ...['--model', model, '--task', 'rte', '--data-dir', dataDir, '--num-train', '6', '--num-dev', '3', '--data-seed', '5'],
  ...['--seed', '2', '--method', 'cola', '--chain-length', '2', '--max-steps', '4', '--batch-size', '2', '--lr', '0.003', '--out', run],
]);

test('cola train prints and records the test metrics of the best dev step when the task has a test split', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const done = events(run).at(-1)!;
  assert.equal(done['event'], 'done');
  const best = done['best'] as { step: number };
  const atBest = events(run)
    .filter((e) => e['event'] === 'eval' && e['step'] === best.step)
    .at(-1)!;
  assert.equal(done['test_step'], best.step);
  assert.deepEqual(done['test'], {
    accuracy: atBest['test_accuracy'],
    macro_f1: atBest['test_macro_f1'],
    count: atBest['test_count'],
    loss: atBest['test_loss'],
  });
  assert.match(trained.stderr, new RegExp(`cola train: test accuracy [0-9.]+, .* \\(the model of step ${best.step}\\)`));
  // the report's elapsed time and per-link times come from elapsed_s on every step
  const elapsed = events(run).flatMap((e) => (e['event'] === 'step' ? [e['elapsed_s'] as number] : []));
  assert.ok(elapsed.length === 4 && elapsed.every((x, i) => x > 0 && (i === 0 || x >= elapsed[i - 1]!)));
  assert.ok((done['elapsed_s'] as number) >= elapsed.at(-1)!);
  const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
  assert.match(html, /<tr><td>elapsed<\/td><td>[0-9.]+s<\/td><\/tr>/);
  const chainRows =
    html
      .slice(html.indexOf('<section id="chain">'))
      .split('</table>')[0]!
      .match(/<tr><td>\d.*?<\/tr>/g) ?? [];
  assert.equal(chainRows.length, 2, 'one chain-manifest row per link');
  for (const row of chainRows) assert.match(row, /<td>[0-9.]+s<\/td>/, `a time per link: ${row}`);
});

test('cola train --config RUN/config.json --out NEW replays the run to the same losses', () => {
  const replay = p('replay');
  const r = cola(['train', '--config', path.join(run, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(losses(replay), losses(run));
  const [a, b] = [run, replay].map((d) => JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as Record<string, unknown>);
  assert.deepEqual({ ...b, run: { ...(b['run'] as object), outDir: 'x' } }, { ...a, run: { ...(a['run'] as object), outDir: 'x' } });
  // a command line flag still wins over the record
  const r2 = cola(['train', '--config', path.join(run, 'config.json'), '--out', p('replay-lr'), '--lr', '0.01', '--quiet']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.notDeepEqual(losses(p('replay-lr')).slice(1), losses(run).slice(1));
  // another command is told what to do with a run record
  const e = cola(['eval', '--config', path.join(run, 'config.json')]);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /is a run's config\.json; replay the run with `cola train --config/);
});

test('cola eval --run RUN scores the run’s own dev split: the dev metrics it logged, exactly', () => {
  const r = cola(['eval', '--run', run, '--split', 'dev', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, number>;
  const last = events(run)
    .filter((e) => e['event'] === 'eval')
    .at(-1)!;
  for (const k of ['accuracy', 'macro_f1', 'count', 'loss']) assert.equal(got[k], last[`dev_${k}`], k);
  // default split: test, as the final model's test metrics logged beside dev
  const t = JSON.parse(cola(['eval', '--run', run, '--json']).stdout) as Record<string, unknown>;
  assert.equal(t['split'], 'test');
  assert.equal(t['loss'], last['test_loss']);
});

test('cola eval --run refuses data flags it takes from the run, and a base model that is not the run’s', () => {
  const a = cola(['eval', '--run', run, '--task', 'rte']);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /--run takes the data and its sampling from the run's config\.json; drop --task/);
  const b = cola(['eval', '--run', run, '--model', otherModel]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /is not the base model the run .* trained/);
  assert.doesNotMatch(a.stderr + b.stderr, /internal error|^\s+at /m);
});

test('cola eval --run on a full fine-tuning run scores its model/ (with the base tokenizer) to the logged dev loss', () => {
  const text = (f: string, lines: string[]) => (fs.writeFileSync(p(f), lines.join('\n') + '\n'), p(f));
  const train = text('train.txt', ['the cat sat on the mat.', 'hello the cat.', 'the mat sat.', 'hello hello.']);
  const dev = text('dev.txt', ['the cat sat on the mat.', 'hello.']);
  const full = p('full');
  const r = cola([
    'train',
    '--model',
    model,
    '--data',
    train,
    '--dev-data',
    dev,
    '--method',
    'full',
    '--max-steps',
    '2',
    '--batch-size',
    '2',
    '--out',
    full,
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const e = cola(['eval', '--run', full, '--json']);
  assert.equal(e.status, 0, e.stderr);
  const got = JSON.parse(e.stdout) as Record<string, unknown>;
  const last = events(full)
    .filter((x) => x['event'] === 'eval')
    .at(-1)!;
  assert.equal(got['split'], 'dev', 'no test split: dev');
  assert.equal(got['loss'], last['dev_loss']);
});
