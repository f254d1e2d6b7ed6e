/** Text helpers shared by the SVG charts and the HTML reports. Everything that reaches
 * markup goes through escapeXml: configs and task names are user input, and a report
 * opened from disk must never run what a config string smuggled in. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape for both XML text and attribute values (HTML uses the same five). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A number short enough for a tick or a table cell: 4 significant digits, exponent
 * form for very large/small magnitudes (learning rates like 5e-4). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return trimExponent(v.toExponential(2));
  return String(Number.parseFloat(v.toPrecision(4)));
}

function trimExponent(s: string): string {
  // 5.00e-4 -> 5e-4, 1.50e+5 -> 1.5e5
  const [mant, exp] = s.split('e') as [string, string];
  const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
  return `${m}e${exp.replace('+', '')}`;
}

/** Any JSON value as display text: numbers formatted, objects as compact JSON. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Seconds as "1h 02m 03s" / "2m 05s" / "4.2s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${Number.parseFloat(seconds.toFixed(1))}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${sec}s` : `${m}m ${sec}s`;
}

export function median(values: number[]): number | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}
