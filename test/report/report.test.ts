import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeRunReport } from '../../src/report/runReport.js';
import { svgLineChart } from '../../src/report/svg.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { FAKE_KNOTS, writeFakeRun } from './fakeRun.js';

const dir = makeTmpDir('report');

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function report(name: string, o?: Parameters<typeof writeFakeRun>[1]): { file: string; html: string } {
  const file = writeRunReport(writeFakeRun(path.join(dir, name), o));
  return { file, html: fs.readFileSync(file, 'utf8') };
}

test('a full run report has every chart, with the knots marked on each', () => {
  const { file, html } = report('full');
  assert.equal(file, path.join(dir, 'full', 'report.html'));
  // loss, lr, grad norm, throughput, dev_loss, dev_accuracy
  assert.equal(count(html, '<svg'), 6);
  assert.equal(count(html, 'class="knot"'), 6 * FAKE_KNOTS.length);
  for (const id of ['summary', 'loss', 'lr', 'dev', 'chain', 'knots', 'config']) assert.match(html, new RegExp(`<section id="${id}">`));
  assert.match(html, /<td>status<\/td><td>finished<\/td>/);
  assert.match(html, /<td>final test_accuracy<\/td><td>0.78<\/td>/);
});

test('the manifest, knot and per-link dev tables carry the right rows', () => {
  const { html } = report('tables');
  const chain = html.slice(html.indexOf('<section id="chain">'), html.indexOf('<section id="knots">'));
  assert.match(chain, /<tr><td>0<\/td><td>0<\/td><td>40<\/td><td>8<\/td><td>5e-4<\/td><td>2<\/td><td>40<\/td>/);
  assert.match(chain, /<tr><td>2<\/td><td>80<\/td><td>120<\/td><td>4<\/td><td>2.5e-4<\/td><td>4<\/td><td>40<\/td>/);
  const knots = html.slice(html.indexOf('<section id="knots">'), html.indexOf('<section id="config">'));
  assert.equal(count(knots, '<tr><td>'), 2);
  assert.match(knots, /<td>1<\/td><td>40<\/td><td>0 → 1<\/td><td>8 → 8<\/td><td>0.12<\/td>/);
  assert.match(knots, /<td>2<\/td><td>80<\/td><td>1 → 2<\/td><td>8 → 4<\/td><td>0.22<\/td>/);
  const dev = html.slice(html.indexOf('<section id="dev">'), html.indexOf('<section id="chain">'));
  // Link 0 ends at step 40: its last eval is the one at step 40 (dev_loss 2 - 40/100).
  assert.match(dev, /<tr><td>0<\/td><td>0–40<\/td><td>40<\/td><td>1.6<\/td><td>0.6<\/td><\/tr>/);
  assert.match(dev, /<tr><td>2<\/td><td>80–120<\/td><td>120<\/td><td>0.8<\/td><td>0.8<\/td><\/tr>/);
});

test('the report is self-contained and escapes what the config says', () => {
  const { html } = report('safe');
  assert.doesNotMatch(html, /https?:\/\//);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)="(?!#)/); // only in-page anchors
  assert.match(html, /&lt;\/td&gt;&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
});

test('writing is atomic: only report.html is left beside the run files', () => {
  const { file } = report('atomic');
  writeRunReport(path.dirname(file)); // overwrite in place
  assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ['chain.json', 'config.json', 'metrics.jsonl', 'report.html']);
});

test('a run that stopped early still renders, with the unreached knot flagged', () => {
  const { html } = report('early', { stopAt: 50 });
  assert.match(html, /incomplete: last logged step 50/);
  assert.equal(count(html, '<svg'), 6);
  assert.match(html, /<td>2<\/td><td>80<\/td><td>not reached<\/td>/);
});

test('a nearly empty folder renders with warnings instead of throwing', () => {
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  fs.writeFileSync(path.join(empty, 'metrics.jsonl'), '{"event":"step","step":1,"loss":2}\n{"event":"step","st');
  const html = fs.readFileSync(writeRunReport(empty), 'utf8');
  assert.match(html, /config.json is missing/);
  assert.match(html, /chain.json is missing/);
  assert.match(html, /skipped 1 unreadable line/);
  assert.match(html, /No dev evaluations were logged/);
  assert.ok(count(html, '<svg') >= 2);
});

test('svgLineChart: standalone files get a namespace, inline ones do not', () => {
  const series = [
    {
      name: 'a<b',
      points: [
        [0, 1],
        [10, 0.5],
      ] as [number, number][],
    },
  ];
  const inline = svgLineChart(series, { title: 'T & <x>', markers: [{ x: 5, label: 'k<1>' }] });
  assert.doesNotMatch(inline, /xmlns/);
  assert.match(inline, /T &amp; &lt;x&gt;/);
  assert.match(inline, /k&lt;1&gt;/);
  assert.equal(count(inline, 'class="knot"'), 1);
  const file = svgLineChart(series, { standalone: true });
  assert.match(file, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
});

test('svgLineChart: log scale drops non-positive points, no data says so', () => {
  const svg = svgLineChart(
    [
      {
        name: 'loss',
        points: [
          [1, 0],
          [2, 3],
          [3, 0.3],
          [4, NaN],
        ],
      },
    ],
    { logY: true },
  );
  assert.equal(count(svg, '<circle'), 2);
  assert.doesNotMatch(svg, /NaN/);
  assert.match(svgLineChart([], {}), /no data yet/);
});
