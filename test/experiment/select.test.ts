import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CellResult } from '../../src/experiment/result.js';
import { selectLr, stats } from '../../src/experiment/select.js';
import { summarize, budgets } from '../../src/experiment/summary.js';

/** A finished cell with the given dev (best-on-dev) and test values of `metric`. */
function cell(method: string, lr: number, seed: number, dev: number, test: number, metric = 'accuracy'): CellResult {
  const higher = metric !== 'perplexity';
  return {
    task: 'rte',
    method,
    lr,
    seed,
    dataSeed: seed,
    kind: higher ? 'classification' : 'lm',
    metric,
    higherIsBetter: higher,
    selectBy: 'loss',
    runDir: `runs/${method}/${lr}/${seed}`,
    steps: 10,
    tokens: 100 + seed,
    counts: { train: 8, dev: 4, test: 4 },
    links: [],
    dev: { perLink: [], final: { [metric]: dev }, best: { step: 10, metrics: { [metric]: dev } } },
    test: { [metric]: test, macro_f1: test / 2 },
    lossCurve: 'metrics.jsonl',
    wallSeconds: 1,
    resumed: false,
    settings: {},
  };
}

test('stats: mean and sample std (n - 1) match their definitions; one value has std 0', () => {
  const xs = [0.5, 0.7, 0.9, 0.6];
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const s = stats(xs);
  assert.ok(Math.abs(s.mean - mean) < 1e-12);
  assert.ok(Math.abs(s.std ** 2 * (xs.length - 1) - xs.reduce((a, x) => a + (x - mean) ** 2, 0)) < 1e-12);
  assert.deepEqual(stats([0.3]), { mean: 0.3, std: 0, n: 1 });
  assert.ok(Number.isNaN(stats([]).mean));
});

test('selection picks the LR with the best mean dev and reports ITS test, not the best test', () => {
  // lr 1e-3: better dev on average, worse test; lr 5e-4: worse dev, better test
  const cells = [
    cell('lora', 1e-3, 0, 0.8, 0.6),
    cell('lora', 1e-3, 1, 0.7, 0.62),
    cell('lora', 5e-4, 0, 0.9, 0.9),
    cell('lora', 5e-4, 1, 0.5, 0.9),
  ];
  assert.equal(selectLr(cells, [1e-3, 5e-4])!.lr, 1e-3);
  const [row] = summarize(cells, [{ name: 'rte' }], ['lora'], [1e-3, 5e-4]);
  assert.equal(row!.selectedLr, 1e-3);
  assert.ok(Math.abs(row!.test.mean - 0.61) < 1e-12);
  assert.equal(row!.test.n, 2);
  assert.deepEqual(
    row!.lrGrid.map((g) => g.lr),
    [1e-3, 5e-4],
  );
  assert.deepEqual(row!.extra, {}); // macro-F1 only for CB
  const [cb] = summarize(
    cells.map((c) => ({ ...c, task: 'CB' })),
    [{ name: 'CB' }],
    ['lora'],
    [1e-3, 5e-4],
  );
  assert.ok(Math.abs(cb!.extra['macro_f1']!.mean - 0.305) < 1e-12);
});

test('perplexity: the lowest mean dev wins; a diverged (NaN) LR never wins; ties go to the first LR listed', () => {
  const ppl = [
    cell('cola-l2', 1e-3, 0, 20, 21, 'perplexity'),
    cell('cola-l2', 5e-4, 0, 12, 30, 'perplexity'),
    cell('cola-l2', 1e-4, 0, NaN, 1, 'perplexity'),
  ];
  assert.equal(selectLr(ppl, [1e-3, 5e-4, 1e-4])!.lr, 5e-4);
  assert.equal(selectLr(ppl, [1e-4, 1e-3, 5e-4])!.lr, 5e-4, 'NaN listed first does not win either');
  const [row] = summarize(
    ppl.map((c) => ({ ...c, task: 'shakespeare' })),
    [{ name: 'shakespeare', corpus: 'x.txt' }],
    ['cola-l2'],
    [1e-3, 5e-4, 1e-4],
  );
  assert.equal(row!.metric, 'perplexity');
  assert.equal(row!.test.mean, 30);
  const tie = [cell('lora', 5e-4, 0, 0.5, 0.1), cell('lora', 1e-3, 0, 0.5, 0.2)];
  assert.equal(selectLr(tie, [5e-4, 1e-3])!.lr, 5e-4);
  assert.equal(selectLr(tie, [1e-3, 5e-4])!.lr, 1e-3);
});

test('a method without finished runs has no selected LR; budgets list distinct step/token counts per seed', () => {
  const cells = [cell('lora', 1e-3, 0, 0.5, 0.5), cell('full', 1e-3, 0, 0.5, 0.5), { ...cell('full', 1e-3, 1, 0.5, 0.5), steps: 12 }];
  const rows = summarize(cells, [{ name: 'rte' }], ['lora', 'full', 'cola-l3'], [1e-3]);
  assert.equal(rows.find((r) => r.method === 'cola-l3')!.selectedLr, null);
  const b = budgets(cells);
  assert.deepEqual(
    b.map((r) => [r.seed, r.steps, r.tokens]),
    [
      [0, [10], [100]],
      [1, [12], [101]],
    ],
  );
});

test('the HTML report bolds the lowest perplexity and titles charts with the task metric', async () => {
  const { renderExperimentReport, experimentBarChart } = await import('../../src/report/experimentReport.js');
  const row = (method: string, testMean: number) => ({
    task: 'shakespeare',
    method,
    bestLr: 1e-3,
    testMean,
    testStd: 1,
    n: 2,
    metric: 'perplexity',
    higherIsBetter: false,
  });
  const results = { cells: [], summary: [row('lora', 30), row('cola-l3', 20)] };
  assert.match(
    renderExperimentReport('/tmp', results),
    /<td>cola-l3<\/td><td>[^<]+<\/td><td>perplexity<\/td><td><strong>20.00 ± 1.000<\/strong>/,
  );
  assert.match(experimentBarChart(results, 'shakespeare'), /test perplexity \(mean ± std\)/);
});
