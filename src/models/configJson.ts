// config.json written back as transformers reads it. JSON.parse forgets that `3.0`
// was a float, and JSON.stringify writes it as `3`; transformers 5 validates config
// fields strictly and refuses an int where the field is a float (Gemma 2's
// final_logit_softcapping: "expected float, got int"). So the keys whose values the
// source file spelled as floats are written with a decimal point again (issue 18).

/** Keys (at any depth) whose value is a number written with a '.' or an exponent. */
export function floatKeys(text: string): string[] {
  const keys = new Set<string>();
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:\s*-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+)/g)) keys.add(m[1]!);
  return [...keys];
}

/** JSON text of `config` (2-space indent) where integral values of `floats` keys keep a '.0'. */
export function configJsonText(config: Record<string, unknown>, floats: readonly string[]): string {
  const wanted = new Set(floats);
  const marker = '@@cola-float@@';
  const text = JSON.stringify(
    config,
    (key, value: unknown) =>
      wanted.has(key) && typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1e21 ? `${marker}${value}` : value,
    2,
  );
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1.0') + '\n';
}
