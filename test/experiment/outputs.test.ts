// Issue 16, part 7: results.md and report.html print every number the same way (one
// formatter), the HTML report has results.md's base-model row, and it embeds the training
// loss plots with the knots marked.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { methodSpec, type MethodSpec } from '../../src/experiment/methods.js';
import { writeOutputs } from '../../src/experiment/outputs.js';
import type { CellResult } from '../../src/experiment/result.js';
import { stats } from '../../src/experiment/select.js';
import { formatMeanStd, formatMetric } from '../../src/report/metricFormat.js';
import { FAKE_KNOTS, writeFakeRun } from '../report/fakeRun.js';

function cell(out: string, task: string, method: string, seed: number, metric: string, dev: number, test: number): CellResult {
  const runDir = path.join('runs', task, method, `seed-${seed}`);
  writeFakeRun(path.join(out, runDir));
  return {
    task,
    method,
    lr: 1e-3,
    seed,
    dataSeed: seed,
    kind: metric === 'perplexity' ? 'lm' : 'classification',
    metric,
    higherIsBetter: metric !== 'perplexity',
    selectBy: 'loss',
    runDir,
    steps: 120,
    tokens: 512 * 120,
    counts: { train: 8, dev: 4, test: 4 },
    links: [],
    dev: { perLink: [], final: { [metric]: dev }, best: { step: 120, metrics: { [metric]: dev } } },
    test: { [metric]: test },
    lossCurve: 'metrics.jsonl',
    wallSeconds: 1,
    resumed: false,
    settings: {},
  };
}

test('results.md and report.html print the same numbers the same way; the HTML has the base row and the loss plots with knots', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-outputs-'));
  const methods = ['lora', 'cola-l3'].map((m) => methodSpec(m, [8, 4], undefined, 5) as MethodSpec);
  const acc = [0.8125, 0.84375];
  const ppl = [35.3012, 36.9];
  const cells = [0, 1].flatMap((seed) => [
    cell(out, 'RTE', 'lora', seed, 'accuracy', 0.7, acc[seed]!),
    cell(out, 'RTE', 'cola-l3', seed, 'accuracy', 0.6, 0.5),
    cell(out, 'story', 'lora', seed, 'perplexity', 40, ppl[seed]!),
    cell(out, 'story', 'cola-l3', seed, 'perplexity', 41, 50),
  ]);
  const base = new Map([
    ['RTE', { dev: stats([0.5, 0.5]), test: stats([0.53125, 0.5]) }],
    ['story', { dev: stats([90]), test: stats([88.25]) }],
  ]);
  writeOutputs(out, { tasks: [{ name: 'RTE' }, { name: 'story', corpus: 'story.txt' }], methods, lrs: [1e-3], seeds: [0, 1] }, cells, {
    model: 'tiny',
    budget: '5 epochs',
    total: cells.length,
    base,
  });
  const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  const same = (text: string, what: string): void => {
    assert.ok(md.includes(text), `results.md has ${what} as "${text}"`);
    assert.ok(html.includes(text), `report.html has ${what} as "${text}"`);
  };
  // accuracy in percent in both, never the fraction in one of them
  const lora = formatMeanStd('accuracy', stats(acc));
  assert.equal(lora, '82.8 ± 2.2');
  same(lora, 'the LoRA accuracy');
  assert.ok(!html.includes(String(stats(acc).mean)) && !html.includes('0.828'), 'no fraction in the HTML');
  same(formatMeanStd('perplexity', stats(ppl)), 'the LoRA perplexity');
  same(formatMetric('accuracy', 0.5), 'a single value');
  // the base-model row, with its value, in both
  same(formatMeanStd('accuracy', base.get('RTE')!.test), "the base model's accuracy");
  same(formatMeanStd('perplexity', base.get('story')!.test), "the base model's perplexity");
  assert.match(html, /<td>RTE<\/td><td>base model \(no training\)<\/td><td>—<\/td><td>accuracy \(%\)<\/td><td>51.6 ± 2.2<\/td><td>2<\/td>/);
  assert.match(html, /<td>story<\/td><td>base model \(no training\)<\/td><td>—<\/td><td>perplexity<\/td><td>88.25<\/td><td>1<\/td>/);
  // the loss plots are embedded (inline SVG, not a link to plots/), each with the knots dashed
  const section = html.slice(html.indexOf('id="loss"'), html.indexOf('id="runs"'));
  assert.equal((section.match(/<svg/g) ?? []).length, 4, 'one loss plot per task and method');
  for (const title of ['RTE · lora (lr 1e-3): training loss', 'story · cola-l3 (lr 1e-3): training loss'])
    assert.ok(section.includes(title), title);
  assert.equal((section.match(/class="knot"/g) ?? []).length, 4 * FAKE_KNOTS.length);
  assert.ok(!html.includes('plots/'), 'self-contained');
});
