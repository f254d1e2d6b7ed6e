import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentBarChart, writeExperimentReport, type ExperimentResults } from '../../src/report/experimentReport.js';
import { writeRunReport } from '../../src/report/runReport.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { writeFakeRun } from './fakeRun.js';

const dir = makeTmpDir('experiment');

function results(): ExperimentResults {
  const cells: ExperimentResults['cells'] = [];
  for (const task of ['sst2', 'cola<x>'])
    for (const method of ['lora', 'cola'])
      for (const seed of [0, 1]) {
        const runDir = path.join(dir, 'runs', `${task}-${method}-${seed}`);
        if (task === 'sst2') writeRunReport(writeFakeRun(runDir));
        cells.push({ task, method, lr: 5e-4, seed, dev: 0.7 + seed / 100, test: method === 'cola' ? 0.8 : 0.75, runDir });
      }
  cells.push({ task: 'sst2', method: 'lora', lr: 1e-3, seed: 0, dev: null, test: null, runDir: path.join(dir, 'runs', 'failed') });
  const summary = [
    { task: 'sst2', method: 'lora', bestLr: 5e-4, testMean: 0.75, testStd: 0.01, n: 2 },
    { task: 'sst2', method: 'cola', bestLr: 5e-4, testMean: 0.8, testStd: 0.02, n: 2 },
    { task: 'cola<x>', method: 'lora', bestLr: 5e-4, testMean: 0.6, testStd: 0, n: 2 },
    { task: 'cola<x>', method: 'cola', bestLr: 5e-4, testMean: NaN, testStd: NaN, n: 0 },
  ];
  return { cells, summary };
}

test('experiment report: summary with mean ± std, a chart per task, relative run links', () => {
  const out = path.join(dir, 'out');
  const file = writeExperimentReport(out, results());
  assert.equal(file, path.join(out, 'report.html'));
  const html = fs.readFileSync(file, 'utf8');
  // accuracy in percent, as results.md writes it (report/metricFormat.ts)
  assert.match(html, /<td>sst2<\/td><td>cola<\/td><td>5e-4<\/td><td>accuracy \(%\)<\/td><td><strong>80.0 ± 2.0<\/strong><\/td><td>2<\/td>/);
  assert.match(html, /<td>sst2<\/td><td>lora<\/td><td>5e-4<\/td><td>accuracy \(%\)<\/td><td>75.0 ± 1.0<\/td>/);
  assert.equal((html.match(/<svg/g) ?? []).length, 2);
  assert.equal((html.match(/class="whisker"/g) ?? []).length, 2); // std 0 and NaN draw none
  assert.match(html, /cola&lt;x&gt;/);
  assert.doesNotMatch(html, /cola<x>/);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.match(html, /<a href="\.\.\/runs\/sst2-lora-0\/report\.html">sst2-lora-0<\/a>/);
  for (const m of html.matchAll(/href="([^"#][^"]*)"/g)) assert.ok(fs.existsSync(path.join(out, decodeURIComponent(m[1]!))), m[1]);
  assert.match(html, /<td>—<\/td><td>—<\/td><td>no report<\/td>/);
});

test('experimentBarChart can be written as a standalone .svg file', () => {
  const svg = experimentBarChart(results(), 'sst2', true);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/class="bar-rect"/g) ?? []).length, 2);
});

test('an empty experiment still renders', () => {
  const html = fs.readFileSync(writeExperimentReport(path.join(dir, 'empty'), { cells: [], summary: [] }), 'utf8');
  assert.match(html, /No summary yet/);
  assert.match(html, /No runs yet/);
});
