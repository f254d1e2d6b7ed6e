// The table of bench/memoryEstimate.sh's raw lines: measured peak RSS against the estimate.
// Usage: node bench/summarizeMemory.mjs bench/raw/NAME.jsonl
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/summarizeMemory.mjs FILE.jsonl');
const rows = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
console.log('| setting | peak RSS MiB | estimate MiB | measured - estimate | tokens/s |');
console.log('|---|---|---|---|---|');
for (const { args, result: r } of rows)
  console.log(
    `| \`${args}\` | ${r.peak_rss_mib} | ${r.memory_estimate_mib} | ${(r.peak_rss_mib - r.memory_estimate_mib).toFixed(0)} | ${r.tokens_per_s} |`,
  );
