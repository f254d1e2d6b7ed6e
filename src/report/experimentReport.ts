/** A self-contained HTML report of an experiment grid (tasks × methods × lrs × seeds):
 * mean ± std per task and method, a bar chart per task, and links to every run's report. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { escapeXml, formatNumber } from './format.js';
import { figure, note, page, raw, section, table, type Html } from './html.js';
import { REPORT_FILE } from './runReport.js';
import { svgBarChart } from './svgBar.js';
import { colorAt } from './svgFrame.js';

interface ExperimentCell {
  task: string;
  method: string;
  lr: number;
  seed: number;
  /** null when the run failed or has not been evaluated. */
  dev: number | null;
  test: number | null;
  /** The run's folder; a relative path is taken from the current directory. */
  runDir: string;
}

interface ExperimentSummaryRow {
  task: string;
  method: string;
  bestLr: number;
  testMean: number;
  testStd: number;
  n: number;
  /** The test metric's name (default accuracy) and its direction (default: higher is better). */
  metric?: string;
  higherIsBetter?: boolean;
}

export interface ExperimentResults {
  cells: ExperimentCell[];
  summary: ExperimentSummaryRow[];
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : formatNumber(v));

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Test metric per method for one task, ± one std; method colours are fixed across
 * tasks so the same method reads the same in every chart. */
export function experimentBarChart(results: ExperimentResults, task: string, standalone = false): string {
  const methods = uniq(results.summary.map((r) => r.method));
  const rows = results.summary.filter((r) => r.task === task);
  const bars = rows.map((r) => ({ label: r.method, value: r.testMean, err: r.testStd, color: colorAt(methods.indexOf(r.method)) }));
  const metric = rows[0]?.metric ?? 'accuracy';
  return svgBarChart(bars, { title: `${task}: test ${metric} (mean ± std)`, yLabel: `test ${metric}`, standalone });
}

function summaryTable(results: ExperimentResults): string {
  const best = new Map<string, number>();
  for (const r of results.summary) {
    if (!Number.isFinite(r.testMean)) continue;
    const prev = best.get(r.task);
    const lower = r.higherIsBetter === false; // perplexity: the smallest is best
    if (prev === undefined || (lower ? r.testMean < prev : r.testMean > prev)) best.set(r.task, r.testMean);
  }
  const rows = results.summary.map((r) => {
    const text = `${fmt(r.testMean)} ± ${fmt(r.testStd)}`;
    const cell: string | Html = best.get(r.task) === r.testMean ? raw(`<strong>${escapeXml(text)}</strong>`) : text;
    return [r.task, r.method, fmt(r.bestLr), cell, String(r.n)];
  });
  return table(['task', 'method', 'best lr', 'test (mean ± std)', 'n'], rows);
}

/** Link from the experiment report to a run's report, relative so the whole output
 * folder can be moved or copied and still browse offline. */
function runLink(outDir: string, runDir: string): string | Html {
  const target = path.join(path.resolve(runDir), REPORT_FILE);
  if (!fs.existsSync(target)) return 'no report';
  const rel = path.relative(path.resolve(outDir), target).split(path.sep).map(encodeURIComponent).join('/');
  return raw(`<a href="${escapeXml(rel)}">${escapeXml(path.basename(path.resolve(runDir)))}</a>`);
}

function cellsTable(outDir: string, results: ExperimentResults): string {
  if (results.cells.length === 0) return note('No runs yet.');
  const rows = results.cells.map((c) => [c.task, c.method, fmt(c.lr), String(c.seed), fmt(c.dev), fmt(c.test), runLink(outDir, c.runDir)]);
  return table(['task', 'method', 'lr', 'seed', 'dev', 'test', 'run'], rows);
}

export function renderExperimentReport(outDir: string, results: ExperimentResults): string {
  const tasks = uniq([...results.summary.map((r) => r.task), ...results.cells.map((c) => c.task)]);
  const charts = tasks.length ? `<div class="grid">${tasks.map((t) => figure(experimentBarChart(results, t))).join('\n')}</div>` : '';
  const sections: Array<[string, string, string]> = [
    ['summary', 'Summary', results.summary.length ? summaryTable(results) : note('No summary yet.')],
    ['charts', 'Test metric per task', charts || note('No tasks yet.')],
    ['runs', 'Runs', cellsTable(outDir, results)],
  ];
  const subtitle = `${tasks.length} task(s) · ${results.cells.length} run(s) · ${path.resolve(outDir)}`;
  return page(
    'cola experiment',
    subtitle,
    sections.map(([id, t]) => [id, t]),
    sections.map(([id, t, body]) => section(t, id, body)),
  );
}

/** Write `outDir/report.html` atomically and return its path. */
export function writeExperimentReport(outDir: string, results: ExperimentResults): string {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, REPORT_FILE);
  writeTextAtomic(file, renderExperimentReport(outDir, results));
  return file;
}
