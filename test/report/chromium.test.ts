// Render reports in headless Chromium (Debian `chromium`) and check the charts are in the
// rendered DOM. Skipped, with the reason, where no Chromium is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkDom, dumpDom, findChromium } from '../../scripts/check_report.js';
import { writeExperimentReport } from '../../src/report/experimentReport.js';
import { writeRunReport } from '../../src/report/runReport.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { FAKE_KNOTS, writeFakeRun } from './fakeRun.js';

const chromium = findChromium();
const skip = chromium ? false : 'no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM=/path)';
const dir = makeTmpDir('chromium');

test('a run report renders in headless Chromium with its charts and knots', { skip, timeout: 180_000 }, () => {
  const file = writeRunReport(writeFakeRun(path.join(dir, 'run')));
  const res = checkDom(dumpDom(chromium!, file), 6);
  assert.deepEqual(res.problems, []);
  assert.equal(res.svgs, 6);
  assert.equal(res.seriesPaths, 6);
  assert.equal(res.knots, 6 * FAKE_KNOTS.length);
});

test('an experiment report renders in headless Chromium', { skip, timeout: 180_000 }, () => {
  const runDir = writeFakeRun(path.join(dir, 'exp', 'runs', 'a'));
  writeRunReport(runDir);
  const results = {
    cells: [{ task: 't', method: 'cola', lr: 1e-3, seed: 0, dev: 0.7, test: 0.7, runDir }],
    summary: [{ task: 't', method: 'cola', bestLr: 1e-3, testMean: 0.7, testStd: 0.01, n: 1 }],
  };
  const dom = dumpDom(chromium!, writeExperimentReport(path.join(dir, 'exp', 'out'), results));
  assert.equal((dom.match(/<svg\b/g) ?? []).length, 1);
  assert.match(dom, /class="bar-rect"/);
  assert.match(dom, /href="\.\.\/runs\/a\/report\.html"/);
});
