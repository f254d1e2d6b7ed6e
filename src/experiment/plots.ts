/** The experiment's SVG images in --out/plots: per task, training loss of each method
 * with its knots marked, dev metric at the end of each link, and test mean ± std. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { experimentBarChart, type ExperimentResults, type LossPlot } from '../report/experimentReport.js';
import { metricLabel, metricScale } from '../report/metricFormat.js';
import { knotMarkers } from '../report/runCharts.js';
import { readRun } from '../report/runData.js';
import { svgLineChart, type Point, type Series } from '../report/svg.js';
import { lrLabel, safeName } from './grid.js';
import type { CellResult } from './result.js';
import { stats } from './select.js';
import type { SummaryRow } from './summary.js';

/** The runs behind a summary row: its selected learning rate, every seed. */
function selected(cells: CellResult[], r: SummaryRow): CellResult[] {
  return cells.filter((c) => c.task === r.task && c.method === r.method && c.lr === r.selectedLr).sort((a, b) => a.seed - b.seed);
}

/** One line per seed; the knots are the same for every seed (same plan). `standalone`
 * for a .svg file, inline for the HTML report. */
function lossChart(out: string, runs: CellResult[], r: SummaryRow, standalone: boolean): string {
  const data = runs.map((c) => readRun(path.join(out, c.runDir)));
  const series: Series[] = data.map((run, i) => ({
    name: `seed ${runs[i]!.seed}`,
    points: run.steps.filter((s) => s.loss !== undefined).map((s) => [s.step, s.loss!] as Point),
    dots: false,
  }));
  const title = `${r.task} · ${r.method} (lr ${lrLabel(r.selectedLr!)}): training loss, knots dashed`;
  return svgLineChart(series, {
    title,
    xLabel: 'optimizer step',
    yLabel: 'loss',
    logY: true,
    markers: data[0] ? knotMarkers(data[0]) : [],
    standalone,
  });
}

/** Mean over seeds of the dev metric at each link's end, one series per method, against
 * the step: LoRA is one point at the end, a 3-link chain three points along the way. */
function devPerLinkChart(cells: CellResult[], rows: SummaryRow[]): string {
  const series: Series[] = rows.map((r) => {
    const runs = selected(cells, r);
    const links = runs[0]?.dev.perLink ?? [];
    const k = metricScale(r.metric); // percent, as in the tables
    const points = links.map((p, j): Point => [p.step, k * stats(runs.map((c) => c.dev.perLink[j]?.metrics[r.metric] ?? NaN)).mean]);
    return { name: r.method, points, dots: true };
  });
  const metric = metricLabel(rows[0]!.metric);
  return svgLineChart(series, {
    title: `${rows[0]!.task}: dev ${metric} at the end of each link (mean over seeds)`,
    xLabel: 'optimizer step',
    yLabel: `dev ${metric}`,
    standalone: true,
  });
}

/** The loss charts inline, for the HTML report (the same charts as the files). */
export function lossPlots(out: string, cells: CellResult[], rows: SummaryRow[]): LossPlot[] {
  return rows
    .filter((r) => r.selectedLr !== null)
    .map((r) => ({ task: r.task, method: r.method, svg: lossChart(out, selected(cells, r), r, false) }));
}

/** Write every plot; returns the files, relative to `out`. */
export function writePlots(out: string, cells: CellResult[], rows: SummaryRow[], results: ExperimentResults): string[] {
  const dir = path.join(out, 'plots');
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, svg: string): void => {
    writeTextAtomic(path.join(dir, name), svg);
    files.push(path.join('plots', name));
  };
  for (const task of [...new Set(rows.map((r) => r.task))]) {
    const mine = rows.filter((r) => r.task === task && r.selectedLr !== null);
    if (!mine.length) continue;
    const t = safeName(task);
    for (const r of mine) write(`${t}-${safeName(r.method)}-loss.svg`, lossChart(out, selected(cells, r), r, true));
    write(`${t}-dev-per-link.svg`, devPerLinkChart(cells, mine));
    write(`${t}-test.svg`, experimentBarChart(results, task, true));
  }
  return files;
}
