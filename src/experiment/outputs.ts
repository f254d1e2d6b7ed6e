/** Everything an experiment writes at the top of --out: experiment.json (every cell
 * and the summary), results.md, the SVG plots and the HTML report. */
import * as path from 'node:path';
import { writeJsonAtomic, writeTextAtomic } from '../io/fileIo.js';
import { writeExperimentReport } from '../report/experimentReport.js';
import { renderMarkdown, type MarkdownMeta } from './markdown.js';
import { lossPlots, writePlots } from './plots.js';
import type { CellResult } from './result.js';
import { SELECTION_RULE } from './select.js';
import type { ExperimentSpec } from './spec.js';
import { budgets, reportResults, summarize, type SummaryRow } from './summary.js';

/** The task's reported metric (the base row is in its unit). */
const metricOf = (rows: SummaryRow[], task: string): string => rows.find((r) => r.task === task)?.metric ?? 'accuracy';

export function writeOutputs(
  out: string,
  spec: ExperimentSpec,
  cells: CellResult[],
  meta: Omit<MarkdownMeta, 'lrs' | 'seeds' | 'finished'>,
): string[] {
  const methods = spec.methods.map((m) => m.name);
  const rows = summarize(cells, spec.tasks, methods, spec.lrs);
  const budget = budgets(cells);
  const results = reportResults(out, cells, rows);
  const plots = writePlots(out, cells, rows, results);
  results.lossPlots = lossPlots(out, cells, rows);
  results.base = [...(meta.base ?? [])].map(([task, b]) => ({ task, metric: metricOf(rows, task), dev: b.dev, test: b.test }));
  writeJsonAtomic(path.join(out, 'experiment.json'), {
    selection: SELECTION_RULE,
    model: meta.model,
    budget: meta.budget,
    tasks: spec.tasks,
    methods: spec.methods,
    lrs: spec.lrs,
    seeds: spec.seeds,
    finished: cells.length,
    total: meta.total,
    summary: rows,
    base: Object.fromEntries(meta.base ?? []),
    budgets: budget,
    plots,
    cells,
  });
  writeTextAtomic(
    path.join(out, 'results.md'),
    renderMarkdown(rows, budget, { ...meta, lrs: spec.lrs, seeds: spec.seeds, finished: cells.length }),
  );
  const report = writeExperimentReport(out, results);
  return ['experiment.json', 'results.md', path.relative(out, report), ...plots];
}
