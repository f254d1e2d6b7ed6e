/** Shared SVG primitives: the root element, the plot frame, axes with ticks, and the
 * palette. Charts are plain SVG text built in TypeScript: no JS library, no fonts to
 * fetch, so the same string works inline in a report or saved as a standalone .svg. */
import { escapeXml, formatNumber } from './format.js';
import { fraction, type Axis } from './ticks.js';

/** Okabe-Ito: distinguishable under the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

interface FrameOptions {
  width: number;
  height: number;
  title?: string;
  /** A standalone file needs the SVG namespace; inline HTML must not (its URL would make
   * the report look like it references the network, and HTML5 does not need it). */
  standalone?: boolean;
}

export function n(v: number): string {
  return String(Math.round(v * 10) / 10);
}

export function svgRoot(o: FrameOptions, body: string): string {
  const ns = o.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  const label = escapeXml(o.title ?? 'chart');
  const bg = o.standalone ? `<rect width="${o.width}" height="${o.height}" fill="#fff"/>` : '';
  return (
    `<svg${ns} class="cola-chart" role="img" aria-label="${label}" viewBox="0 0 ${o.width} ${o.height}" width="${o.width}" height="${o.height}"` +
    ` font-family="system-ui, 'DejaVu Sans', Arial, sans-serif" font-size="12">` +
    `<title>${label}</title>${bg}${body}</svg>`
  );
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(s)}</text>`;
}

export function xPos(box: Box, axis: Axis, v: number): number {
  return box.left + fraction(axis, v) * box.width;
}

export function yPos(box: Box, axis: Axis, v: number): number {
  return box.top + (1 - fraction(axis, v)) * box.height;
}

/** Left axis: grid lines, tick labels and the rotated axis label. */
export function yAxis(box: Box, axis: Axis, label?: string): string {
  const parts = axis.ticks.map((t) => {
    const y = yPos(box, axis, t);
    return (
      `<line x1="${n(box.left)}" x2="${n(box.left + box.width)}" y1="${n(y)}" y2="${n(y)}" stroke="#e5e5e5"/>` +
      text(box.left - 6, y + 4, formatNumber(t), 'text-anchor="end" fill="#444"')
    );
  });
  if (label) {
    const cy = box.top + box.height / 2;
    parts.push(text(14, cy, label, `text-anchor="middle" transform="rotate(-90 14 ${n(cy)})" fill="#222"`));
  }
  return `<g class="y-axis">${parts.join('')}</g>`;
}

/** Bottom axis: tick marks, labels, the axis label. */
export function xAxis(box: Box, axis: Axis, label?: string): string {
  const base = box.top + box.height;
  const parts = axis.ticks.map((t) => {
    const x = xPos(box, axis, t);
    return (
      `<line x1="${n(x)}" x2="${n(x)}" y1="${n(base)}" y2="${n(base + 5)}" stroke="#444"/>` +
      text(x, base + 18, formatNumber(t), 'text-anchor="middle" fill="#444"')
    );
  });
  if (label) parts.push(text(box.left + box.width / 2, base + 36, label, 'text-anchor="middle" fill="#222"'));
  return `<g class="x-axis">${parts.join('')}</g>`;
}

export function frameRect(box: Box): string {
  return `<rect x="${n(box.left)}" y="${n(box.top)}" width="${n(box.width)}" height="${n(box.height)}" fill="none" stroke="#999"/>`;
}

export function titleText(width: number, title?: string): string {
  return title ? text(width / 2, 18, title, 'text-anchor="middle" font-size="14" font-weight="bold" fill="#222"') : '';
}

/** A one-row legend of coloured swatches, starting at (x, y). Width per item is
 * estimated from the label length (no font metrics without a browser). */
export function legend(x: number, y: number, items: Array<{ name: string; color: string }>): string {
  let cx = x;
  const parts = items.map((it) => {
    const s =
      `<line x1="${n(cx)}" x2="${n(cx + 18)}" y1="${n(y - 4)}" y2="${n(y - 4)}" stroke="${it.color}" stroke-width="3"/>` +
      text(cx + 22, y, it.name, 'fill="#222"');
    cx += 34 + it.name.length * 6.5;
    return s;
  });
  return `<g class="legend">${parts.join('')}</g>`;
}

export function noData(o: FrameOptions, message: string): string {
  return svgRoot(o, titleText(o.width, o.title) + text(o.width / 2, o.height / 2, message, 'text-anchor="middle" fill="#888"'));
}
