/** Axis domains and tick positions for the SVG charts. */

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  log: boolean;
}

/** Drop float noise (0.30000000000000004) so tick labels print cleanly. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/** 1, 2 or 5 times a power of ten, the smallest such step >= raw. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Widen an empty or single-value range so it still gets an axis. */
function widen(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/** Linear axis. `snap` extends the domain out to whole ticks (nice for y; for x we keep
 * the data's own ends so step 0 sits on the left edge). */
export function linearAxis(min: number, max: number, snap: boolean, target = 6): Axis {
  let [lo, hi] = widen(min, max);
  const step = niceStep((hi - lo) / target);
  if (snap) {
    lo = clean(Math.floor(lo / step) * step);
    hi = clean(Math.ceil(hi / step) * step);
  }
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(clean(k * step));
  return { lo, hi, ticks, log: false };
}

/** Log axis over positive values: ticks at round values per decade, plain linear ticks
 * when the range is too narrow for three of them. */
export function logAxis(min: number, max: number): Axis {
  const [lo0, hi0] = min > 0 && max > min ? [min, max] : [min > 0 ? min / 2 : 1e-3, min > 0 ? min * 2 : 1];
  const pad = (Math.log10(hi0) - Math.log10(lo0)) * 0.04;
  const lo = 10 ** (Math.log10(lo0) - pad);
  const hi = 10 ** (Math.log10(hi0) + pad);
  // Densest labelling that stays readable: every digit, else 1-2-5, else powers of ten.
  for (const mults of [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 5], [1]]) {
    const ticks = decadeTicks(lo, hi, mults);
    if (ticks.length >= 3 && ticks.length <= 10) return { lo, hi, ticks, log: true };
    if (ticks.length > 10 && mults.length === 1) {
      // Many decades (an exploding loss): every k-th power of ten.
      const k = Math.ceil(ticks.length / 8);
      return { lo, hi, ticks: ticks.filter((_, i) => i % k === 0), log: true };
    }
  }
  return { lo, hi, ticks: linearAxis(lo, hi, false, 4).ticks.filter((t) => t > 0), log: true };
}

function decadeTicks(lo: number, hi: number, mults: number[]): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mults) {
      const t = clean(m * 10 ** e);
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks;
}

/** Map a data value to [0, 1] along the axis. */
export function fraction(axis: Axis, v: number): number {
  if (axis.log) return (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo));
  return (v - axis.lo) / (axis.hi - axis.lo);
}
