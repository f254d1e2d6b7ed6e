/** A self-contained HTML report of an experiment grid (tasks × methods × lrs × seeds):
 * mean ± std per task and method with the untrained base model's row, a bar chart per
 * task, the training loss of each method with its knots marked, and links to every run's
 * report. Numbers are written as in results.md (metricFormat.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { escapeXml } from './format.js';
import { figure, note, page, raw, section, table, type Html } from './html.js';
import { formatLr, formatMeanStd, formatMetric, metricLabel, metricScale } from './metricFormat.js';
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
  /** The task metric (default: the task's summary metric, else accuracy). */
  metric?: string;
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

interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** The untrained model on a task: what every method is measured against. */
export interface BaseRow {
  task: string;
  metric: string;
  dev: MeanStd;
  test: MeanStd;
}

/** A training-loss chart (an inline, non-standalone SVG) of one method on one task. */
export interface LossPlot {
  task: string;
  method: string;
  svg: string;
}

export interface ExperimentResults {
  cells: ExperimentCell[];
  summary: ExperimentSummaryRow[];
  base?: BaseRow[];
  lossPlots?: LossPlot[];
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

const metricOf = (r: { metric?: string }): string => r.metric ?? 'accuracy';

/** Test metric per method for one task, ± one std, in the unit of the tables (percent for
 * accuracy); method colours are fixed across tasks so a method reads the same in every chart. */
export function experimentBarChart(results: ExperimentResults, task: string, standalone = false): string {
  const methods = uniq(results.summary.map((r) => r.method));
  const rows = results.summary.filter((r) => r.task === task);
  const metric = metricOf(rows[0] ?? {});
  const k = metricScale(metric);
  const bars = rows.map((r) => ({ label: r.method, value: k * r.testMean, err: k * r.testStd, color: colorAt(methods.indexOf(r.method)) }));
  const label = metricLabel(metric);
  return svgBarChart(bars, { title: `${task}: test ${label} (mean ± std)`, yLabel: `test ${label}`, standalone });
}

function summaryTable(results: ExperimentResults): string {
  const best = new Map<string, number>();
  for (const r of results.summary) {
    if (!Number.isFinite(r.testMean)) continue;
    const prev = best.get(r.task);
    const lower = r.higherIsBetter === false; // perplexity: the smallest is best
    if (prev === undefined || (lower ? r.testMean < prev : r.testMean > prev)) best.set(r.task, r.testMean);
  }
  const tasks = uniq(results.summary.map((r) => r.task));
  const rows = tasks.flatMap((task) => {
    const mine = results.summary
      .filter((r) => r.task === task)
      .map((r) => {
        const text = formatMeanStd(metricOf(r), { mean: r.testMean, std: r.testStd, n: r.n });
        const cell: string | Html = best.get(r.task) === r.testMean ? raw(`<strong>${escapeXml(text)}</strong>`) : text;
        return [r.task, r.method, formatLr(r.bestLr), metricLabel(metricOf(r)), cell, String(r.n)];
      });
    const base = results.base?.find((b) => b.task === task);
    if (base)
      mine.push([
        task,
        'base model (no training)',
        '—',
        metricLabel(base.metric),
        formatMeanStd(base.metric, base.test),
        String(base.test.n),
      ]);
    return mine;
  });
  return table(['task', 'method', 'selected lr', 'metric', 'test (mean ± std)', 'seeds'], rows);
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
  const rows = results.cells.map((c) => {
    const metric = c.metric ?? metricOf(results.summary.find((r) => r.task === c.task) ?? {});
    return [
      c.task,
      c.method,
      formatLr(c.lr),
      String(c.seed),
      metricLabel(metric),
      formatMetric(metric, c.dev),
      formatMetric(metric, c.test),
      runLink(outDir, c.runDir),
    ];
  });
  return table(['task', 'method', 'lr', 'seed', 'metric', 'dev', 'test', 'run'], rows);
}

/** The training-loss charts, per task, knots marked (the same SVGs as plots/). */
function lossPlots(results: ExperimentResults, tasks: string[]): string {
  const plots = results.lossPlots ?? [];
  if (plots.length === 0) return note('No training-loss plots (no finished runs at a selected learning rate).');
  return tasks
    .map((t) => plots.filter((p) => p.task === t))
    .filter((ps) => ps.length)
    .map((ps) => `<div class="grid">${ps.map((p) => figure(p.svg)).join('\n')}</div>`)
    .join('\n');
}

export function renderExperimentReport(outDir: string, results: ExperimentResults): string {
  const tasks = uniq([...results.summary.map((r) => r.task), ...results.cells.map((c) => c.task)]);
  const charts = tasks.length ? `<div class="grid">${tasks.map((t) => figure(experimentBarChart(results, t))).join('\n')}</div>` : '';
  const sections: Array<[string, string, string]> = [
    ['summary', 'Summary', results.summary.length ? summaryTable(results) : note('No summary yet.')],
    ['charts', 'Test metric per task', charts || note('No tasks yet.')],
    ['loss', 'Training loss (selected lr, every seed; knots dashed)', lossPlots(results, tasks)],
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
