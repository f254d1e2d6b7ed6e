// metrics.csv and the TensorBoard scalars (issue 18): rebuilt whole from metrics.jsonl,
// so they match it after every checkpoint, at the end, and after a resume.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../../src/cola/run.js';
import { EVENT_FILE } from '../../src/report/tensorboard.js';
import { metricsCsv, tensorboardScalars } from '../../src/train/metricsExport.js';
import { MetricsLog, type RunEvent } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';
import { config, examples, model } from '../cola/tinyRun.js';
import { decodeEvents } from '../helpers/tfEvents.js';

/** A CSV reader for what metricsCsv writes (RFC 4180 quoting). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',' || c === '\n') {
      row.push(cell);
      cell = '';
      if (c === '\n') {
        rows.push(row);
        row = [];
      }
    } else cell += c;
  }
  return rows;
}

test('metrics.csv: event,step,link first, then every key sorted; a missing key is an empty cell; nested keys dotted; quoting', () => {
  const events: RunEvent[] = [
    { event: 'step', step: 1, link: 0, loss: 2.5, lr: 0.001 },
    { event: 'eval', step: 1, link: 0, select_by: 'loss', dev_loss: 2.25 },
    { event: 'done', step: 1, best: { step: 1, metrics: { loss: 2.25 } }, note: 'a, "b"' },
  ];
  const rows = parseCsv(metricsCsv(events));
  assert.deepEqual(rows[0], ['event', 'step', 'link', 'best.metrics.loss', 'best.step', 'dev_loss', 'loss', 'lr', 'note', 'select_by']);
  assert.deepEqual(rows[1], ['step', '1', '0', '', '', '', '2.5', '0.001', '', '']);
  assert.deepEqual(rows[3], ['done', '1', '', '2.25', '1', '', '', '', 'a, "b"', '']);
  assert.equal(rows.length, 4);
});

test('a run writes metrics.csv and, with --report-to tensorboard, an event file, both equal to metrics.jsonl, also after a resume', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-logs-'));
  const run = (resume: boolean, stopAt: number | null): void => {
    let step = 0;
    const log = new MetricsLog(dir, [(e) => (step = e.event === 'step' ? (e['step'] as number) : step)], { tensorboard: true });
    runChain(config(dir, { resume, reportTo: 'tensorboard' }), {
      model: model(),
      objective: lmObjective(examples(16), 0),
      dev: () => ({ loss: 1 / (step + 1) }),
      log,
      shouldStop: () => stopAt !== null && step >= stopAt,
      baseModel: 'tiny',
    });
  };
  const check = (): void => {
    const jsonl = fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    const csv = parseCsv(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8'));
    assert.equal(csv.length, jsonl.length + 1, 'one row per event');
    const loss = csv[0]!.indexOf('loss');
    const steps = jsonl.filter((e) => e.event === 'step').map((e) => e['loss'] as number);
    assert.deepEqual(
      csv.filter((r) => r[0] === 'step').map((r) => Number(r[loss])),
      steps,
      'the loss column is the log, to the last digit',
    );
    const tb = decodeEvents(fs.readFileSync(path.join(dir, EVENT_FILE)));
    assert.deepEqual(
      tb.scalars.filter((s) => s.tag === 'train/loss').map((s) => [s.step, s.value]),
      jsonl.filter((e) => e.event === 'step').map((e) => [e.step, Math.fround(e['loss'] as number)]),
    );
    assert.deepEqual(
      tb.scalars,
      tensorboardScalars(jsonl).map((s) => ({ ...s, value: Math.fround(s.value) })),
    );
    assert.ok(tb.scalars.some((s) => s.tag === 'dev/loss') && tb.scalars.some((s) => s.tag === 'knot/delta_norm'));
  };
  run(false, 5); // interrupted at step 5 (checkpoint every 2 steps: the log is cut back to step 4 on resume)
  check();
  run(true, null);
  check();
});
