// End to end through the real CLI on a tiny model: a 2 methods x 2 LRs x 2 seeds grid
// on a text corpus and on RTE, its outputs, and a rerun that recomputes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir, writeRte } from '../cli/harness.js';
import { tinyCorpus } from '../helpers/tinyFolder.js';

const dir = makeTmpDir('experiment-cli');
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 60);
const dataDir = writeRte(path.join(dir, 'data'));
const out = path.join(dir, 'exp');
const args = [
  'experiment',
  '--model',
  model,
  '--data',
  corpus,
  '--task',
  'rte',
  '--data-dir',
  dataDir,
  '--num-train',
  '6',
  '--num-dev',
  '2',
  '--num-test',
  '4',
  '--methods',
  'lora,cola-l2',
  '--lrs',
  '1e-2,1e-3',
  '--seeds',
  '2',
  '--epochs',
  '2',
  '--batch-size',
  '2',
  '--max-length',
  '24',
  '--save-every',
  '0',
  '--out',
  out,
];

/** Well-formed XML: every tag closed in order (enough to catch a broken writer). */
function assertWellFormed(xml: string, file: string): void {
  const stack: string[] = [];
  for (const m of xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `${file}: </${m[2]}> closes the wrong tag`);
    else stack.push(m[2]!);
  }
  assert.deepEqual(stack, [], `${file}: unclosed tags`);
}

const results = () =>
  fs
    .readdirSync(path.join(out, 'runs'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('result.json'))
    .map((f) => path.join(out, 'runs', f));

test('experiment: runs every cell once, writes experiment.json, results.md, SVG plots and the report; a rerun recomputes nothing', () => {
  const first = cola(args);
  assert.equal(first.status, 0, first.stderr);
  assert.equal((first.stderr.match(/^cola experiment \[\d+\/16\]/gm) ?? []).length, 16);

  const exp = JSON.parse(fs.readFileSync(path.join(out, 'experiment.json'), 'utf8'));
  assert.equal(exp.cells.length, 16);
  assert.equal(exp.summary.length, 4); // 2 tasks x 2 methods
  assert.match(exp.selection, /best mean dev/);
  for (const row of exp.summary) {
    assert.equal(row.test.n, 2, `${row.task} ${row.method}: both seeds at the selected LR`);
    assert.ok([1e-2, 1e-3].includes(row.selectedLr));
    const chosen = exp.cells.filter(
      (c: { task: string; method: string; lr: number }) => c.task === row.task && c.method === row.method && c.lr === row.selectedLr,
    );
    const mean = chosen.reduce((s: number, c: { test: Record<string, number> }) => s + c.test[row.metric]!, 0) / chosen.length;
    assert.ok(Math.abs(mean - row.test.mean) < 1e-9);
  }
  assert.deepEqual([...new Set(exp.summary.map((r: { metric: string }) => r.metric))].sort(), ['accuracy', 'perplexity']);
  // equal budgets: within a task and seed, every method and LR ran the same steps on the same tokens
  for (const b of exp.budgets) assert.deepEqual([b.steps.length, b.tokens.length], [1, 1], JSON.stringify(b));
  const l2 = exp.cells.find((c: { method: string }) => c.method === 'cola-l2');
  assert.equal(l2.links.length, 2);
  assert.equal(l2.dev.perLink.length, 2, 'a dev evaluation at the end of each link');

  const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
  assert.match(md, /## corpus[\s\S]*\| lora \| (1e-2|1e-3) \| [\d.]+ ± [\d.]+ \|/);
  assert.match(md, /## RTE[\s\S]*test accuracy \(%\)/);
  // RTE's premises do not fit in 24 tokens: the table says how many were cut, per split
  assert.match(
    md,
    /## RTE\n\nTest accuracy[^\n]*; train\/dev\/test examples 6\/2\/4; left-truncated to the max length \(start token kept\) [1-6]\/[0-2]\/[1-4]\./,
  );
  assert.doesNotMatch(md, /## corpus\n\n[^\n]*left-truncated/, 'a .txt corpus is cut into windows, never truncated');
  assert.match(md, /Every method and learning rate ran \d+ optimizer steps/);
  // the untrained model's row: per data seed for tasks, once for a corpus (its split has no seed)
  assert.match(md, /## RTE[\s\S]*^\| base model \(no training\) \| — \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| 2 \|/m);
  assert.match(md, /## corpus[\s\S]*^\| base model \(no training\) \| — \| [\d.]+ \| [\d.]+ \| 1 \|/m);
  assert.deepEqual([exp.base.RTE.test.n, exp.base.corpus.test.n], [2, 1]);
  assert.ok(Number.isFinite(exp.base.corpus.test.mean) && exp.base.corpus.test.mean > 1, 'a perplexity');
  for (const f of exp.plots) {
    const svg = fs.readFileSync(path.join(out, f), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assertWellFormed(svg, f);
  }
  assert.ok(exp.plots.includes('plots/corpus-cola-l2-loss.svg'));
  assert.match(fs.readFileSync(path.join(out, 'plots/corpus-cola-l2-loss.svg'), 'utf8'), /class="knot"/);
  assert.ok(exp.plots.includes('plots/RTE-dev-per-link.svg'));
  assert.ok(fs.existsSync(path.join(out, 'report.html')));

  const before = results().map((f) => fs.statSync(f).mtimeMs);
  assert.equal(before.length, 16);
  const again = cola(args);
  assert.equal(again.status, 0, again.stderr);
  assert.equal((again.stderr.match(/: finished before: /g) ?? []).length, 16);
  assert.match(again.stderr, /0 run\(s\) trained, 16 finished before/);
  assert.deepEqual(
    results().map((f) => fs.statSync(f).mtimeMs),
    before,
  );
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'experiment.json'), 'utf8')).summary, exp.summary);
});

test('experiment: a finished cell made with other settings is an error naming the setting, not a silent reuse', () => {
  assert.ok(
    fs.existsSync(path.join(out, 'experiment.json')),
    `${out}/experiment.json missing: the first experiment test failed (its error says why)`,
  );
  const r = cola(args.map((a, i) => (args[i - 1] === '--epochs' ? '3' : a)));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /was made with other settings:\n {2}run\.budget\.epochs: 2 → 3/);
});

test('experiment: bad flags give one clear message listing every problem, no stack trace', () => {
  const r = cola([
    'experiment',
    '--model',
    model,
    '--task',
    'rte,nope',
    '--methods',
    'lora,cola,full',
    '--lrs',
    '0',
    '--seeds',
    'x',
    '--dtype',
    'bf16',
    '--out',
    path.join(dir, 'bad'),
  ]);
  assert.equal(r.status, 1);
  for (const re of [
    /unknown task "nope"/,
    /--task needs --data-dir/,
    /unknown method "cola"/,
    /--lrs: expected positive numbers, got 0/,
    /--seeds: expected a count/,
    /drop --dtype bf16/,
  ])
    assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const none = cola(['experiment', '--model', model, '--out', path.join(dir, 'bad')]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /give --task NAME/);
  const csv = cola(['experiment', '--model', model, '--data', path.join(dir, 'corpus.csv'), '--out', path.join(dir, 'bad')]);
  assert.match(csv.stderr, /corpus is \.txt or \.jsonl files/);
  // JSONL is read as cola train reads it (issue 16): a task file's rows are not LM rows
  const rte = cola(['experiment', '--model', model, '--data', path.join(dataDir, 'RTE/train.jsonl'), '--out', path.join(dir, 'bad')]);
  assert.match(rte.stderr, /RTE\/train\.jsonl line 1: expected one of: a JSON object with "text"/);
});

test('experiment: --early-stopping-patience and --report-to reach every cell; results.md says runs stopped early', () => {
  const eout = path.join(dir, 'early');
  const common = ['experiment', '--model', model, '--data', corpus, '--methods', 'lora,cola-l2', '--lrs', '0.3', '--seeds', '1'];
  const budget = ['--epochs', '6', '--batch-size', '4', '--max-length', '16', '--eval-every', '2', '--quiet', '--out', eout];
  const r = cola([...common, ...budget, '--early-stopping-patience', '1', '--report-to', 'tensorboard']);
  assert.equal(r.status, 0, r.stderr);
  const cells = fs
    .readdirSync(path.join(eout, 'runs'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('result.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(eout, 'runs', f), 'utf8')));
  assert.equal(cells.length, 2);
  for (const c of cells) {
    assert.equal(c.settings.run.eval.earlyStoppingPatience, 1);
    assert.ok(
      fs.existsSync(path.join(eout, c.runDir, 'metrics.csv')) && fs.existsSync(path.join(eout, c.runDir, 'events.out.tfevents.cola')),
    );
  }
  const md = fs.readFileSync(path.join(eout, 'results.md'), 'utf8');
  assert.match(md, /early stopping after 1 evaluations without improvement/);
  const stopped = cells.filter((c) => c.earlyStop).length;
  if (stopped) assert.match(md, new RegExp(`Early stopping ended ${stopped} run\\(s\\) before the budget`));
  // patience that can never act is refused for the experiment as for cola train
  const bad = cola([...common, ...budget.map((a) => (a === eout ? path.join(dir, 'early-bad') : a)), '--early-stopping-patience', '30']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--early-stopping-patience 30 can never stop this run/);
});

test('experiment: a JSONL corpus counts its rows cut to the max length per held-out split, in result.json and results.md', () => {
  // 20 rows in corpus order, split 12/4/4 (dev and test fractions 0.2); long rows at 0, 13 and 17, 18
  const long = 'this row is much longer than the sixteen tokens the run allows';
  const rows = Array.from({ length: 20 }, (_, i) => ({ text: [0, 13, 17, 18].includes(i) ? long : `row ${i}` }));
  const file = path.join(dir, 'cut.jsonl');
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const jout = path.join(dir, 'jsonl');
  const r = cola([
    ...['experiment', '--model', model, '--data', file, '--methods', 'lora', '--lrs', '1e-2', '--seeds', '1', '--epochs', '1'],
    ...['--batch-size', '4', '--max-length', '16', '--dev-fraction', '0.2', '--test-fraction', '0.2', '--quiet', '--out', jout],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const exp = JSON.parse(fs.readFileSync(path.join(jout, 'experiment.json'), 'utf8'));
  assert.deepEqual(
    [exp.cells[0].counts, exp.cells[0].truncated],
    [
      { train: 12, dev: 4, test: 4 },
      { train: 1, dev: 1, test: 2 },
    ],
  );
  const md = fs.readFileSync(path.join(jout, 'results.md'), 'utf8');
  assert.match(
    md,
    /## cut\n\nTest perplexity[^\n]*; train\/dev\/test examples 12\/4\/4; left-truncated to the max length \(start token kept\) 1\/1\/2\./,
  );
});
