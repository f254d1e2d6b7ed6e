/** Learning-rate selection and the statistics over seeds.
 *
 * Rule: for each task and method, the learning rate whose runs have the best MEAN dev
 * metric over seeds (each run at its best-on-dev checkpoint) is selected, and that
 * LR's test metrics are reported as mean ± std over the same seeds. One LR per method
 * and task, chosen on dev only, never on test: the paper's "best LR per method on
 * dev", and the per-method sweep a later study says fair LoRA comparisons need. */
import type { CellResult } from './result.js';

export interface Stats {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number;
  n: number;
}

export const SELECTION_RULE =
  'for each task and method, the learning rate with the best mean dev metric over seeds (each run at its best-on-dev checkpoint); ' +
  "test = that learning rate's runs, test metric of their best-on-dev checkpoints, mean ± sample std (n - 1) over seeds";

export function stats(xs: number[]): Stats {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(variance), n };
}

/** A cell's dev score: its best-on-dev value of the reported metric. */
export const devScore = (c: CellResult): number => c.dev.best.metrics[c.metric] ?? NaN;

/** Dev mean over seeds for each learning rate of one (task, method), in grid order. */
export function devByLr(cells: CellResult[], lrs: number[]): { lr: number; dev: Stats }[] {
  return lrs.map((lr) => ({ lr, dev: stats(cells.filter((c) => c.lr === lr).map(devScore)) })).filter((r) => r.dev.n > 0);
}

/** The selected learning rate of one (task, method): the best dev mean; a NaN mean
 * (a diverged run) never wins; ties go to the LR listed first. null when no runs. */
export function selectLr(cells: CellResult[], lrs: number[]): { lr: number; dev: Stats } | null {
  const rows = devByLr(cells, lrs);
  const higher = cells[0]?.higherIsBetter ?? true;
  let best: { lr: number; dev: Stats } | null = null;
  for (const r of rows) {
    if (!Number.isFinite(r.dev.mean)) continue;
    if (!best || (higher ? r.dev.mean > best.dev.mean : r.dev.mean < best.dev.mean)) best = r;
  }
  return best ?? rows[0] ?? null;
}
