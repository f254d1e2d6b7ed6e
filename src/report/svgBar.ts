/** Bar charts with ± std whiskers (experiment summaries: test accuracy per method). */
import { escapeXml, formatNumber } from './format.js';
import { extent } from './decimate.js';
import { linearAxis } from './ticks.js';
import { colorAt, frameRect, n, noData, svgRoot, text, titleText, yAxis, yPos, type Box } from './svgFrame.js';

interface Bar {
  label: string;
  value: number;
  /** Half-length of the whisker (one standard deviation); omitted or 0 draws none. */
  err?: number;
  color?: string;
}

interface BarChartOptions {
  title?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Start the y axis here (default 0, or below the lowest bar when values are negative). */
  yMin?: number;
  standalone?: boolean;
}

export function svgBarChart(bars: Bar[], o: BarChartOptions = {}): string {
  const frame = {
    width: o.width ?? Math.max(360, 110 * bars.length + 120),
    height: o.height ?? 300,
    title: o.title,
    standalone: o.standalone,
  };
  const ok = bars.filter((b) => Number.isFinite(b.value));
  if (ok.length === 0) return noData(frame, 'no results yet');
  const tops = ok.map((b) => b.value + (b.err ?? 0));
  const lows = ok.map((b) => b.value - (b.err ?? 0));
  const ya = linearAxis(o.yMin ?? Math.min(0, extent(lows)[0]), extent(tops)[1], true, 5);
  const top = o.title ? 40 : 16;
  const box: Box = { left: 72, top, width: frame.width - 72 - 16, height: frame.height - top - 44 };
  const slot = box.width / bars.length;
  const body = bars.map((b, i) => bar(box, ya, b, box.left + slot * i, slot, b.color ?? colorAt(i)));
  return svgRoot(frame, titleText(frame.width, o.title) + yAxis(box, ya, o.yLabel) + body.join('') + frameRect(box));
}

function bar(box: Box, ya: ReturnType<typeof linearAxis>, b: Bar, x0: number, slot: number, color: string): string {
  const cx = x0 + slot / 2;
  const label = text(cx, box.top + box.height + 18, b.label, 'text-anchor="middle" fill="#222"');
  if (!Number.isFinite(b.value))
    return `<g class="bar">${label}${text(cx, box.top + box.height - 6, 'n/a', 'text-anchor="middle" fill="#888"')}</g>`;
  const w = Math.min(60, slot * 0.6);
  const base = yPos(box, ya, Math.max(ya.lo, 0));
  const y = yPos(box, ya, b.value);
  const rect = `<rect class="bar-rect" x="${n(cx - w / 2)}" y="${n(Math.min(y, base))}" width="${n(w)}" height="${n(Math.abs(base - y))}" fill="${escapeXml(color)}" opacity="0.85"/>`;
  const err = b.err && Number.isFinite(b.err) ? whisker(cx, yPos(box, ya, b.value - b.err), yPos(box, ya, b.value + b.err)) : '';
  const valueY = b.err && Number.isFinite(b.err) ? yPos(box, ya, b.value + b.err) - 5 : y - 5;
  const value = text(cx, valueY, formatNumber(b.value), 'text-anchor="middle" fill="#222" font-size="11"');
  return `<g class="bar" data-label="${escapeXml(b.label)}">${rect}${err}${value}${label}</g>`;
}

function whisker(cx: number, yLo: number, yHi: number): string {
  const cap = (y: number) => `<line x1="${n(cx - 6)}" x2="${n(cx + 6)}" y1="${n(y)}" y2="${n(y)}" stroke="#222"/>`;
  return `<g class="whisker"><line x1="${n(cx)}" x2="${n(cx)}" y1="${n(yLo)}" y2="${n(yHi)}" stroke="#222"/>${cap(yLo)}${cap(yHi)}</g>`;
}
