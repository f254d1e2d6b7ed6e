/** Thin long series before drawing: a 100k-step run would otherwise put 100k vertices in
 * every chart. Per x-bucket we keep the first, min, max and last point, so spikes (a loss
 * blow-up at a knot) survive while the file stays small. */
export function decimate<P extends readonly [x: number, y: number]>(points: P[], buckets = 800): P[] {
  if (points.length <= buckets * 4) return points;
  const x0 = points[0]![0];
  const span = points.at(-1)![0] - x0 || 1;
  const out: P[] = [];
  let group: P[] = [];
  let current = 0;
  const flush = () => {
    if (group.length === 0) return;
    const lo = group.reduce((a, p) => (p[1] < a[1] ? p : a));
    const hi = group.reduce((a, p) => (p[1] > a[1] ? p : a));
    const keep = new Set([group[0]!, lo, hi, group.at(-1)!]);
    out.push(...group.filter((p) => keep.has(p)));
    group = [];
  };
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.floor(((p[0] - x0) / span) * buckets));
    if (b !== current) flush();
    current = b;
    group.push(p);
  }
  flush();
  return out;
}

/** Min and max without spreading (spread overflows the stack on very long arrays). */
export function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
