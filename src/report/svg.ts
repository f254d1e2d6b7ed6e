/** Line charts as inline SVG: several series, ticked axes, optional log y, and vertical
 * dashed markers (the chain's knots) with labels. */
import { decimate, extent } from './decimate.js';
import { escapeXml } from './format.js';
import { linearAxis, logAxis, type Axis } from './ticks.js';
import { colorAt, frameRect, legend, n, noData, svgRoot, text, titleText, xAxis, xPos, yAxis, yPos, type Box } from './svgFrame.js';

export type Point = [number, number];

export interface Series {
  name: string;
  points: Point[];
  color?: string;
  /** Draw a dot at every point (sparse series such as evals). Default: when <= 60 points. */
  dots?: boolean;
}

export interface Marker {
  x: number;
  label: string;
}

interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Log-scale y (loss); points <= 0 are dropped since they have no position. */
  logY?: boolean;
  markers?: Marker[];
  /** Widen the x range (e.g. to the whole planned run, for a run that stopped early). */
  xDomain?: [number, number];
  /** Keep 0 on the y axis (rates and norms, where the distance from zero matters). */
  yFromZero?: boolean;
  /** Add the SVG namespace and a white background, for writing a .svg image file. */
  standalone?: boolean;
}

/** Render a line chart; returns the `<svg>` element as a string. */
export function svgLineChart(series: Series[], o: LineChartOptions = {}): string {
  const frame = { width: o.width ?? 800, height: o.height ?? 320, title: o.title, standalone: o.standalone };
  const clean = series.map((s) => ({
    ...s,
    points: decimate(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0))),
  }));
  const all = clean.flatMap((s) => s.points);
  if (all.length === 0) return noData(frame, 'no data yet');
  const markers = (o.markers ?? []).filter((m) => Number.isFinite(m.x));
  const xs = [...all.map((p) => p[0]), ...markers.map((m) => m.x)];
  const xa = linearAxis(...extent([...xs, ...(o.xDomain ?? [])]), false);
  const [y0, y1] = extent([...all.map((p) => p[1]), ...(o.yFromZero && !o.logY ? [0] : [])]);
  const ya = o.logY ? logAxis(y0, y1) : linearAxis(y0, y1, true, 5);
  const top = o.title ? 48 : 24;
  const box: Box = { left: 72, top, width: frame.width - 72 - 20, height: frame.height - top - (o.xLabel ? 48 : 32) };
  const colored = clean.map((s, i) => ({ ...s, color: escapeXml(s.color ?? colorAt(i)) }));
  const body = [
    titleText(frame.width, o.title),
    colored.length > 1 || o.title === undefined ? legend(box.left, top - 8, colored) : '',
    yAxis(box, ya, o.yLabel),
    xAxis(box, xa, o.xLabel),
    markers
      .filter((m) => m.x >= xa.lo && m.x <= xa.hi)
      .map((m) => marker(box, xa, m))
      .join(''),
    colored.map((s) => seriesPath(box, xa, ya, s)).join(''),
    frameRect(box),
  ];
  return svgRoot(frame, body.join(''));
}

function seriesPath(box: Box, xa: Axis, ya: Axis, s: Series & { color: string }): string {
  const pts = s.points.map(([x, y]) => [xPos(box, xa, x), yPos(box, ya, y)] as const);
  const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${n(x)} ${n(y)}`).join('');
  const dots =
    (s.dots ?? pts.length <= 60) ? pts.map(([x, y]) => `<circle cx="${n(x)}" cy="${n(y)}" r="2.5" fill="${s.color}"/>`).join('') : '';
  return `<g class="series" data-name="${escapeXml(s.name)}"><path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6" stroke-linejoin="round"/>${dots}</g>`;
}

function marker(box: Box, xa: Axis, m: Marker): string {
  const x = xPos(box, xa, m.x);
  return (
    `<line class="knot" x1="${n(x)}" x2="${n(x)}" y1="${n(box.top)}" y2="${n(box.top + box.height)}" stroke="#777" stroke-width="1.2" stroke-dasharray="5 4"/>` +
    text(x + 4, box.top + 13, m.label, 'class="knot-label" fill="#555" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke"')
  );
}
