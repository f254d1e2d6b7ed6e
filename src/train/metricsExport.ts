/** What other tools read, derived from metrics.jsonl (issue 18): metrics.csv (pandas,
 * spreadsheets) and TensorBoard scalars. Both are rebuilt whole from the log, so a
 * resume (which truncates the log) rewrites them to match it.
 *
 * metrics.csv has one row per event, in log order (Lightning's CSVLogger layout). Its
 * columns are `event,step,link`, then every other key any event has, sorted; nested
 * objects are flattened with dots (`best.metrics.loss`), arrays written as JSON. A row
 * leaves a key it lacks empty, so the header only grows as new kinds of events appear
 * (the first eval adds dev_* columns), and the same log always gives the same file. */
import type { Scalar } from '../report/tensorboard.js';

/** A metrics.jsonl event (metricsLog.ts's RunEvent; restated to keep the two files apart). */
type RunEvent = { event: string; [key: string]: unknown };

const LEAD = ['event', 'step', 'link'];

function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** RFC 4180: quote a field holding a comma, quote, or line break. */
function csvField(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function metricsCsv(events: readonly RunEvent[]): string {
  const rows = events.map((e) => flatten(e));
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  const cols = [...LEAD, ...[...keys].filter((k) => !LEAD.includes(k)).sort()];
  const lines = [cols.map(csvField).join(','), ...rows.map((r) => cols.map((c) => csvField(r[c])).join(','))];
  return lines.join('\n') + '\n';
}

/** The tag of a numeric key of an event: train/loss, dev/accuracy, test/loss, knot/delta_norm. */
function tagOf(event: string, key: string): string {
  if (event === 'step') return `train/${key}`;
  if (event === 'eval' && /^(dev|test)_/.test(key)) return key.replace('_', '/');
  return `${event}/${key}`;
}

/** Every finite number of every event but the `done` summary, as a scalar at the event's
 * step. metrics.jsonl holds no clock, so wall time is the training time so far (the sum
 * of the step events' ms): TensorBoard's "relative" axis then reads as training time. */
export function tensorboardScalars(events: readonly RunEvent[]): Scalar[] {
  const out: Scalar[] = [];
  let ms = 0;
  for (const e of events) {
    if (e.event === 'step' && typeof e['ms'] === 'number') ms += e['ms'];
    const step = e['step'];
    if (e.event === 'done' || typeof step !== 'number') continue;
    for (const [k, v] of Object.entries(e)) {
      if (k === 'step' || typeof v !== 'number' || !Number.isFinite(v)) continue;
      out.push({ tag: tagOf(e.event, k), step, value: v, wallTime: ms / 1000 });
    }
  }
  return out;
}
