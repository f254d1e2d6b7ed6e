/** Compare two settings records key by key, for the resume checks of `cola train --resume`
 * (api/resumeCheck.ts) and `cola experiment` (experiment/cell.ts): one comparison, one
 * message format ("key: old → new"). */

/** Nested settings as dotted keys ("run.epochs"), so a difference names the one flag. */
export function flattenSettings(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flattenSettings(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** One setting that differs: its dotted key and both values (undefined = unset). */
export interface SettingChange {
  key: string;
  old: unknown;
  now: unknown;
}

/** The settings that differ, by dotted key (empty when they agree). */
export function settingChanges(old: Record<string, unknown>, now: Record<string, unknown>): SettingChange[] {
  const [a, b] = [flattenSettings(old), flattenSettings(now)];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((key) => ({ key, old: a[key], now: b[key] }));
}

/** "key: old → new" */
export function formatChange(c: SettingChange): string {
  const show = (x: unknown): string => (x === undefined ? 'unset' : JSON.stringify(x));
  return `${c.key}: ${show(c.old)} → ${show(c.now)}`;
}

/** The settings that differ, as "key: old → new" lines (empty when they agree). */
export function settingsDiff(old: Record<string, unknown>, now: Record<string, unknown>): string[] {
  return settingChanges(old, now).map(formatChange);
}
