/** results.md: per task, a table of mean ± std over seeds at the selected learning
 * rate, the LR grid behind the selection, and the budget every method got. */
import { formatMeanStd, formatMetric, metricLabel } from '../report/metricFormat.js';
import { lrLabel } from './grid.js';
import { SELECTION_RULE, type Stats } from './select.js';
import type { Baseline } from './baseline.js';
import type { BudgetRow, SummaryRow } from './summary.js';

export interface MarkdownMeta {
  model: string;
  lrs: number[];
  seeds: number[];
  /** e.g. "5 epochs, batch 8 x grad-accum 1". */
  budget: string;
  /** Cells finished / in the grid. */
  finished: number;
  total: number;
  /** The untrained model's dev/test metric per task (absent when not computed). */
  base?: Map<string, Baseline>;
}

// Numbers are written as in report.html (report/metricFormat.ts): accuracy and F1 in
// percent, perplexity to four significant digits.
const value = formatMetric;
const unit = metricLabel;
const pm = (metric: string, s: Stats): string => formatMeanStd(metric, s);

function resultsTable(rows: SummaryRow[], base?: Baseline): string[] {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.extra)))];
  const m = rows[0]!.metric;
  const head = ['method', 'selected lr', `dev ${unit(m)}`, `test ${unit(m)}`, ...extra.map((k) => `test ${unit(k)}`), 'seeds'];
  const best = bestMean(rows);
  const body = rows.map((r) => {
    const test = pm(m, r.test);
    return [
      r.method,
      r.selectedLr === null ? '—' : lrLabel(r.selectedLr),
      pm(m, r.dev),
      r.test.mean === best ? `**${test}**` : test,
      ...extra.map((k) => pm(k, r.extra[k]!)),
      String(r.test.n),
    ];
  });
  if (base) body.push(['base model (no training)', '—', pm(m, base.dev), pm(m, base.test), ...extra.map(() => '—'), String(base.test.n)]);
  return mdTable(head, body);
}

function bestMean(rows: SummaryRow[]): number | undefined {
  const means = rows.map((r) => r.test.mean).filter(Number.isFinite);
  if (!means.length) return undefined;
  return rows[0]!.higherIsBetter ? Math.max(...means) : Math.min(...means);
}

function gridTable(rows: SummaryRow[], lrs: number[]): string[] {
  const m = rows[0]!.metric;
  const body = rows.map((r) => [
    r.method,
    ...lrs.map((lr) => {
      const g = r.lrGrid.find((x) => x.lr === lr);
      const text = g ? `${value(m, g.dev.mean)} (${g.dev.n})` : '—';
      return lr === r.selectedLr ? `**${text}**` : text;
    }),
  ]);
  return mdTable(['method', ...lrs.map(lrLabel)], body);
}

function budgetLine(b: BudgetRow[]): string {
  const uneven = b.filter((r) => r.steps.length > 1 || r.tokens.length > 1);
  const steps = [...new Set(b.flatMap((r) => r.steps))].join(', ');
  const early = b.reduce((s, r) => s + r.stoppedEarly, 0);
  if (early)
    return `Early stopping ended ${early} run(s) before the budget, so runs trained different steps: ${b.map((r) => `seed ${r.seed}: steps ${r.steps.join('/')}`).join('; ')}.`;
  if (uneven.length)
    return `**Unequal budgets** (a bug, or cells from different settings): ${uneven.map((r) => `seed ${r.seed}: steps ${r.steps.join('/')}, tokens ${r.tokens.join('/')}`).join('; ')}.`;
  const tokens = b.map((r) => `${r.tokens[0]} (seed ${r.seed})`).join(', ');
  return `Every method and learning rate ran ${steps} optimizer steps on the same tokens per seed: ${tokens}.`;
}

function mdTable(head: string[], body: string[][]): string[] {
  const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [row(head), row(head.map(() => '---')), ...body.map(row)];
}

export function renderMarkdown(rows: SummaryRow[], budgets: BudgetRow[], meta: MarkdownMeta): string {
  const tasks = [...new Set(rows.map((r) => r.task))];
  const lines = [
    '# cola experiment',
    '',
    `Model \`${meta.model}\`; learning rates ${meta.lrs.map(lrLabel).join(', ')}; seeds ${meta.seeds.join(', ')}; ${meta.finished}/${meta.total} runs finished.`,
    '',
    `**Selection**: ${SELECTION_RULE}. Accuracy and F1 in %, perplexity to 4 significant digits (as in report.html); bold = best test mean.`,
    '',
    `**Budget**: ${meta.budget}, identical for every method; a chain only splits the same steps into links.`,
  ];
  for (const task of tasks) {
    const mine = rows.filter((r) => r.task === task);
    const b = budgets.filter((r) => r.task === task);
    const counts = b[0]?.counts;
    const cut = b[0]?.truncated;
    const cutText =
      cut && cut.train + cut.dev + cut.test > 0
        ? `; left-truncated to the max length (start token kept) ${cut.train}/${cut.dev}/${cut.test}`
        : '';
    lines.push('', `## ${task}`, '');
    lines.push(
      `Test ${mine[0]!.metric} (${mine[0]!.higherIsBetter ? 'higher' : 'lower'} is better)${counts ? `; train/dev/test examples ${counts.train}/${counts.dev}/${counts.test}${cutText}` : ''}.`,
      '',
    );
    lines.push(...resultsTable(mine, meta.base?.get(task)), '');
    lines.push(`Dev ${unit(mine[0]!.metric)} per learning rate, mean over seeds (runs):`, '', ...gridTable(mine, meta.lrs), '');
    if (b.length) lines.push(budgetLine(b));
  }
  return lines.join('\n') + '\n';
}
