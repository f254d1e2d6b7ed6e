// Medians of alternating benchmark rounds: reads JSON lines {setting, result: {tokens_per_s,
// peak_rss_mib}} (bench/session8.sh, session9.sh) and prints a markdown table per file.
// Run: node bench/summarizeRounds.mjs bench/raw/session9-opt125m.jsonl ...
import { readFileSync } from 'node:fs';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
for (const f of process.argv.slice(2)) {
  const rows = readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  console.log(`\n${f}\n| setting | tokens/s (runs) | median | peak RSS MiB (median) |\n|---|---|---|---|`);
  for (const s of [...new Set(rows.map((r) => r.setting))]) {
    const mine = rows.filter((r) => r.setting === s);
    const tok = mine.map((r) => r.result.tokens_per_s);
    console.log(`| ${s} | ${tok.join(', ')} | ${median(tok)} | ${median(mine.map((r) => r.result.peak_rss_mib))} |`);
  }
}
