import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimate } from '../../src/report/decimate.js';
import { escapeXml, formatDuration, formatNumber, median } from '../../src/report/format.js';
import { svgLineChart, type Point } from '../../src/report/svg.js';
import { linearAxis, logAxis } from '../../src/report/ticks.js';

test('formatNumber keeps ticks and cells short', () => {
  assert.equal(formatNumber(5e-4), '5e-4');
  assert.equal(formatNumber(2.5e-4), '2.5e-4');
  assert.equal(formatNumber(0.1 + 0.2), '0.3');
  assert.equal(formatNumber(1234.5678), '1235');
  assert.equal(formatNumber(123456), '1.23e5');
  assert.equal(formatNumber(0), '0');
});

test('formatDuration, median, escapeXml', () => {
  assert.equal(formatDuration(4.24), '4.2s');
  assert.equal(formatDuration(125), '2m 05s');
  assert.equal(formatDuration(3723), '1h 02m 03s');
  assert.equal(median([3, 1, 2, 4]), 2.5);
  assert.equal(median([]), undefined);
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('axes: nice linear ticks, 1-2-5 log ticks, degenerate ranges', () => {
  assert.deepEqual(linearAxis(0.13, 0.87, true, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearAxis(0, 120, false).ticks, [0, 20, 40, 60, 80, 100, 120]);
  assert.deepEqual(logAxis(0.05, 30).ticks, [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]);
  assert.deepEqual(logAxis(0.7, 3).ticks, [0.7, 0.8, 0.9, 1, 2, 3]);
  assert.ok(logAxis(1e-6, 1e6).ticks.length <= 10);
  const flat = linearAxis(2, 2, true);
  assert.ok(flat.lo < 2 && flat.hi > 2 && flat.ticks.length > 1);
});

test('decimate keeps spikes and bounds the vertex count of long runs', () => {
  const pts: Point[] = Array.from({ length: 200_000 }, (_, i) => [i, i === 123_457 ? 50 : 1]);
  const thin = decimate(pts);
  assert.ok(thin.length <= 800 * 4, `${thin.length}`);
  assert.ok(thin.some(([, y]) => y === 50));
  const svg = svgLineChart([{ name: 'loss', points: pts }], { logY: true });
  assert.ok(svg.length < 200_000, `${svg.length} chars`);
});
