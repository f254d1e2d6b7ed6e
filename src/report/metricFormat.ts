/** How an experiment's metric values are written, in results.md, report.html and the
 * plots alike (issue 16, part 7): one rule per metric, never a fraction in one place and
 * a percent in another.
 *
 * - accuracy, F1 and other fractions: percent with one decimal ("83.4"), the unit in
 *   the column or axis label ("accuracy (%)"), as papers print them;
 * - perplexity and loss: four significant digits ("35.30", "0.6931");
 * - learning rates: exponent form ("5e-4", "1e-3"), as in the run folders' names;
 * - mean ± std over seeds: both parts by the metric's rule; a single run has no spread. */

/** Metrics reported as they are rather than in percent. */
const AS_IS = /perplexity|loss/;

export function isPercentMetric(metric: string): boolean {
  return !AS_IS.test(metric);
}

/** One value of `metric`; '—' for a missing or non-finite one. */
export function formatMetric(metric: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (isPercentMetric(metric)) return (100 * v).toFixed(1);
  const a = Math.abs(v);
  if (a >= 1e4) return v.toFixed(0);
  if (a !== 0 && a < 1e-3) return v.toExponential(3);
  return v.toPrecision(4);
}

/** The value as plotted: percent metrics scaled to percent, the others as they are. */
export function metricScale(metric: string): number {
  return isPercentMetric(metric) ? 100 : 1;
}

/** "accuracy (%)", "macro-F1 (%)", "perplexity". */
export function metricLabel(metric: string): string {
  const name = metric === 'macro_f1' ? 'macro-F1' : metric.replace(/_/g, '-');
  return isPercentMetric(metric) ? `${name} (%)` : name;
}

/** "mean ± std" over `n` runs; the mean alone for one run, '—' for none. */
export function formatMeanStd(metric: string, s: { mean: number; std: number; n: number }): string {
  if (s.n > 1) return `${formatMetric(metric, s.mean)} ± ${formatMetric(metric, s.std)}`;
  return s.n === 1 ? formatMetric(metric, s.mean) : '—';
}

/** A learning rate: 5e-4, 1e-3, 2.5e-5. */
export function formatLr(lr: number): string {
  return Number.isFinite(lr) ? lr.toExponential().replace('e+', 'e') : '—';
}
