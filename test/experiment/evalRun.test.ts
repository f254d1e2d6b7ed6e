// `cola eval --run CELL` on the cells `cola experiment` writes: a cell records its task and
// sampling, or its corpus and held-out split, in config.json as `cola train` does, so eval
// --run scores the cell's own dev and test splits: the numbers in its result.json, exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { assertRefused, cola, tinyModelDir, writeRte } from '../cli/harness.js';
import { tinyCorpus } from '../helpers/tinyFolder.js';
import { stepLosses } from '../helpers/runFolder.js';

const dir = makeTmpDir('experiment-eval-run');
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 60);
const dataDir = writeRte(path.join(dir, 'data'));
const out = path.join(dir, 'exp');
// dev every step, so the best-on-dev step need not be the last one
const args = [
  ...['experiment', '--model', model, '--data', corpus, '--task', 'rte', '--data-dir', dataDir],
  ...['--num-train', '6', '--num-dev', '3', '--num-test', '4', '--methods', 'lora,cola-l2', '--lrs', '3e-2', '--seeds', '1'],
  ...['--epochs', '2', '--batch-size', '2', '--max-length', '24', '--eval-every', '1', '--save-every', '0', '--quiet', '--out', out],
];
const ran = cola(args);

interface Result {
  task: string;
  method: string;
  runDir: string;
  dev: { final: Record<string, number>; best: { step: number; metrics: Record<string, number> } };
  test: Record<string, number>;
}
const cells = (): Result[] => (JSON.parse(fs.readFileSync(path.join(out, 'experiment.json'), 'utf8')) as { cells: Result[] }).cells;
const cellDir = (c: Result): string => path.join(out, c.runDir);
const cellOf = (task: string, method: string): Result => cells().find((c) => c.task === task && c.method === method)!;

function evalJson(extra: string[]): Record<string, unknown> {
  const r = cola(['eval', ...extra, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** `got` holds every metric of `want`: exactly, or within `rel` (relative). A LoRA cell is
 * scored as it trained, so exactly (as test/cli/replay.test.ts). A COLA cell trained with
 * its knots merged into the f32 weights, while its adapter/ holds the chain as one stacked
 * LoRA on the original weights: merged = unmerged up to f32 rounding (seen: 1.7e-7). */
function assertMetrics(got: Record<string, unknown>, want: Record<string, number>, what: string, rel = 0): void {
  assert.ok(Object.keys(want).length > 0, `${what}: nothing logged to compare`);
  for (const [k, v] of Object.entries(want)) {
    if (rel === 0) assert.equal(got[k], v, `${what}: ${k}`);
    else
      assert.ok(
        typeof got[k] === 'number' && Math.abs(got[k] - v) <= rel * Math.max(1, Math.abs(v)),
        `${what}: ${k} ${String(got[k])} vs ${v}`,
      );
  }
}

test('cola eval --run CELL scores a LoRA and a COLA cell’s own dev split, on a task and on a corpus: the logged metrics (LoRA exactly, COLA to f32 rounding)', () => {
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(cells().length, 4);
  for (const c of cells()) {
    const what = `${c.task} ${c.method}`;
    const rel = c.method === 'lora' ? 0 : 1e-5;
    // RUN/adapter is the model at the end of the run: the last dev evaluation
    const final = evalJson(['--run', cellDir(c), '--split', 'dev']);
    assert.equal(final['split'], 'dev');
    assertMetrics(final, c.dev.final, `${what} final dev`, rel);
    // best/adapter is the model the experiment reports: its dev, and the test metrics in result.json
    const best = ['--run', cellDir(c), '--adapter', path.join(cellDir(c), 'best', 'adapter')];
    assertMetrics(evalJson([...best, '--split', 'dev']), c.dev.best.metrics, `${what} best dev`, rel);
    const test = evalJson(best);
    assert.equal(test['split'], 'test', 'the cell has a test split: the default');
    assertMetrics(test, c.test, `${what} best test`, rel);
  }
});

test('a task cell’s config.json replays with cola train --config to the same losses; a corpus cell’s held-out split is refused there by name', () => {
  const rte = cellOf('RTE', 'lora');
  const replay = path.join(dir, 'replay');
  const r = cola(['train', '--config', path.join(cellDir(rte), 'config.json'), '--out', replay, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stepLosses(replay), stepLosses(cellDir(rte)));
  const corpusCell = cellOf('corpus', 'cola-l2');
  assertRefused(
    cola(['train', '--config', path.join(cellDir(corpusCell), 'config.json'), '--out', path.join(dir, 'replay2')]),
    /"run\.data\.heldOut": .* split into train\/dev\/test by cola experiment/,
  );
});

test('cola eval --run CELL --data FILE scores other files with the cell’s model: as --model BASE --adapter CELL/adapter --data FILE does', () => {
  const c = cellOf('corpus', 'cola-l2');
  const other = path.join(dir, 'other.txt');
  fs.writeFileSync(other, 'hello the mat. the cat sat on a hat.\nhe sat on the mat.\n');
  const got = evalJson(['--run', cellDir(c), '--data', other]);
  assert.equal(got['data'], other);
  assert.equal(got['split'], undefined, 'a --data file is scored whole');
  // the run's max length (24) is the default, as the cell read its corpus
  const want = evalJson(['--model', model, '--adapter', path.join(cellDir(c), 'adapter'), '--data', other, '--max-length', '24']);
  for (const k of ['loss', 'perplexity', 'tokens']) assert.equal(got[k], want[k], k);
  // shorter windows: the same tokens predicted from less context
  const shorter = evalJson(['--run', cellDir(c), '--data', other, '--max-length', '8']);
  assert.equal(shorter['tokens'], got['tokens']);
  assert.notEqual(shorter['loss'], got['loss'], '--max-length applies to the --data file');
  assertRefused(cola(['eval', '--run', cellDir(c), '--data', other, '--split', 'dev']), /--data .* is scored whole: drop --split/);
  assertRefused(
    cola(['eval', '--run', cellDir(c), '--max-length', '8']),
    /drop --max-length \(or score other files with --run RUN --data FILE/,
  );
  assertRefused(cola(['eval', '--run', cellDir(c), '--data', path.join(dir, 'none.txt')]), /--data .*none\.txt: file not found/);
  // the experiment's folder is not a run: the message names a cell to give instead
  assertRefused(
    cola(['eval', '--run', out]),
    /no config\.json there; it is a cola experiment folder: give one of its cells, e\.g\. --run .*seed-0/,
  );
});

test('a cell that cannot be replayed says which key or file and what to do: its corpus gone, or a record from an older cola', () => {
  const c = cellOf('corpus', 'lora');
  const moved = corpus + '.moved';
  fs.renameSync(corpus, moved);
  try {
    assertRefused(
      cola(['eval', '--run', cellDir(c)]),
      new RegExp(`"run\\.data\\.data" names ${corpus.replace(/[.\\]/g, '\\$&')}, which is not there any more: put it back`),
    );
    // its model still scores other files: the run's own data is not read
    const other = path.join(dir, 'other.txt');
    assert.ok(Number.isFinite(evalJson(['--run', cellDir(c), '--data', other])['loss']));
  } finally {
    fs.renameSync(moved, corpus);
  }
  // records as an older cola wrote them: no task and no data under run.data
  type Record_ = { run: { data: Record<string, unknown> } };
  const olderRecord = (cell: Result): { file: string; record: Record_ } => {
    const file = path.join(cellDir(cell), 'config.json');
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Record_;
    const older = Object.fromEntries(Object.entries(record.run.data).filter(([k]) => k !== 'task' && k !== 'dataDir'));
    fs.writeFileSync(file, JSON.stringify({ ...record, run: { ...record.run, data: older } }));
    return { file, record };
  };
  const rte = cellOf('RTE', 'cola-l2');
  const finished = olderRecord(rte);
  assertRefused(
    cola(['eval', '--run', cellDir(rte)]),
    /"run\.data" names no task and no data file .* rerun the same cola experiment command/,
  );
  // a cell without result.json resumes from its checkpoint: the resume check compares its record
  const lora = cellOf('RTE', 'lora');
  const resumed = olderRecord(lora);
  fs.rmSync(path.join(cellDir(lora), 'result.json'));
  // rerunning the experiment records the cells' data (trains nothing new): eval --run replays them
  const again = cola(args.filter((a) => a !== '--quiet'));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /RTE lora .* \(resumed\)/);
  assert.match(again.stderr, /1 run\(s\) trained, 3 finished before/);
  for (const { file, record } of [finished, resumed]) assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), record, file);
  assertMetrics(evalJson(['--run', cellDir(rte), '--split', 'dev']), rte.dev.final, 'upgraded record', 1e-5);
  assertMetrics(evalJson(['--run', cellDir(lora), '--split', 'dev']), lora.dev.final, 'upgraded record of a resumed cell');
});
