/** The experiment's summary: per task and method, the selected learning rate and the
 * test metrics over seeds; plus the check that every method got the same budget. */
import * as path from 'node:path';
import type { ExperimentResults } from '../report/experimentReport.js';
import { reportMetrics, type TaskRef } from './data.js';
import type { CellResult } from './result.js';
import { devByLr, devScore, selectLr, stats, type Stats } from './select.js';

export interface SummaryRow {
  task: string;
  method: string;
  metric: string;
  higherIsBetter: boolean;
  /** null while the method has no finished run on this task. */
  selectedLr: number | null;
  dev: Stats;
  test: Stats;
  /** Extra test metrics (CB: macro_f1), same runs. */
  extra: Record<string, Stats>;
  /** The LR grid: dev mean over seeds per learning rate. */
  lrGrid: { lr: number; dev: Stats }[];
}

export interface BudgetRow {
  task: string;
  seed: number;
  /** Distinct optimizer-step and token counts over all methods and LRs (one each when equal). */
  steps: number[];
  tokens: number[];
  counts: CellResult['counts'];
  truncated: CellResult['truncated'];
  /** runs early stopping ended before their budget (their steps and tokens differ by design) */
  stoppedEarly: number;
}

export function summarize(cells: CellResult[], tasks: TaskRef[], methods: string[], lrs: number[]): SummaryRow[] {
  return tasks.flatMap((t) => {
    const { metric, extra } = reportMetrics(t);
    return methods.map((method) => {
      const mine = cells.filter((c) => c.task === t.name && c.method === method);
      const pick = selectLr(mine, lrs);
      const chosen = pick ? mine.filter((c) => c.lr === pick.lr) : [];
      const test = (k: string) => stats(chosen.map((c) => c.test[k] ?? NaN));
      return {
        task: t.name,
        method,
        metric,
        higherIsBetter: mine[0]?.higherIsBetter ?? metric !== 'perplexity',
        selectedLr: pick?.lr ?? null,
        dev: stats(chosen.map(devScore)),
        test: test(metric),
        extra: Object.fromEntries(extra.map((k) => [k, test(k)])),
        lrGrid: devByLr(mine, lrs),
      };
    });
  });
}

const distinct = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

/** Equal budgets: within a task and seed, every method and LR must have run the same
 * optimizer steps on the same tokens (the chain only re-partitions them). */
export function budgets(cells: CellResult[]): BudgetRow[] {
  const keys = [...new Set(cells.map((c) => `${c.task}\u0000${c.seed}`))];
  return keys.map((k) => {
    const mine = cells.filter((c) => `${c.task}\u0000${c.seed}` === k);
    return {
      task: mine[0]!.task,
      seed: mine[0]!.seed,
      steps: distinct(mine.map((c) => c.steps)),
      tokens: distinct(mine.map((c) => c.tokens)),
      counts: mine[0]!.counts,
      truncated: mine[0]!.truncated,
      stoppedEarly: mine.filter((c) => c.earlyStop).length,
    };
  });
}

/** The shape src/report renders (HTML report, bar charts). */
export function reportResults(out: string, cells: CellResult[], rows: SummaryRow[]): ExperimentResults {
  return {
    cells: cells.map((c) => ({
      task: c.task,
      method: c.method,
      lr: c.lr,
      seed: c.seed,
      dev: devScore(c),
      test: c.test[c.metric] ?? null,
      metric: c.metric,
      runDir: path.join(out, c.runDir),
    })),
    summary: rows.map((r) => ({
      task: r.task,
      method: r.method,
      bestLr: r.selectedLr ?? NaN,
      testMean: r.test.mean,
      testStd: r.test.std,
      n: r.test.n,
      metric: r.metric,
      higherIsBetter: r.higherIsBetter,
    })),
  };
}
