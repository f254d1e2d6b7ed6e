/** The run report's charts: training loss, learning rate, gradient norm, throughput
 * and each dev metric against the optimizer step, knots marked on all of them so a
 * reader sees what every merge-and-restart did to the curves. */
import { figure } from './html.js';
import type { RunData, StepEvent } from './runData.js';
import { devKeys, knotSteps, plannedEnd } from './runLinks.js';
import { svgLineChart, type Marker, type Point, type Series } from './svg.js';

export function knotMarkers(run: RunData): Marker[] {
  return knotSteps(run).map((step, i) => ({ x: step, label: `knot ${i + 1}` }));
}

/** Per-step series are dense: lines only (dots are for the sparse evals). */
function stepSeries(name: string, points: Point[]): Series[] {
  return [{ name, points, dots: false }];
}

function stepPoints(run: RunData, key: keyof StepEvent): Point[] {
  return run.steps.filter((s) => s[key] !== undefined).map((s) => [s.step, s[key]!] as Point);
}

function chart(run: RunData, series: Series[], title: string, yLabel: string, logY = false): string {
  const opts = {
    title,
    yLabel,
    xLabel: 'optimizer step',
    logY,
    yFromZero: !logY && !yLabel.includes('loss'),
    markers: knotMarkers(run),
    xDomain: [0, plannedEnd(run)] as [number, number],
  };
  return figure(svgLineChart(series, opts));
}

interface ChartBlock {
  id: string;
  title: string;
  html: string;
}

/** One block per chart the run has data for; always loss and LR (they say "no data yet"
 * when empty, which is itself the news for a run that died before its first step). */
export function runCharts(run: RunData): ChartBlock[] {
  const blocks: ChartBlock[] = [
    {
      id: 'loss',
      title: 'Training loss',
      html: chart(run, stepSeries('train loss', stepPoints(run, 'loss')), 'Training loss (log scale)', 'loss', true),
    },
    { id: 'lr', title: 'Learning rate', html: chart(run, stepSeries('lr', stepPoints(run, 'lr')), 'Learning rate', 'lr') },
  ];
  const grad = stepPoints(run, 'grad_norm');
  if (grad.length)
    blocks.push({ id: 'grad', title: 'Gradient norm', html: chart(run, stepSeries('grad norm', grad), 'Gradient norm', 'norm') });
  const tps = stepPoints(run, 'tokens_per_s');
  if (tps.length)
    blocks.push({ id: 'throughput', title: 'Throughput', html: chart(run, stepSeries('tokens/s', tps), 'Throughput', 'tokens/s') });
  return blocks;
}

/** One chart per dev metric: losses and accuracies live on different scales. */
export function devCharts(run: RunData): string[] {
  return devKeys(run).map((key) => {
    const points = run.evals.filter((e) => e.metrics[key] !== undefined).map((e) => [e.step, e.metrics[key]!] as Point);
    return chart(run, [{ name: key, points, dots: true }], key, key.replace(/^dev_/, ''));
  });
}
