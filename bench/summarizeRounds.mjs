// Medians of alternating benchmark rounds: reads JSON lines {setting, result: {tokens_per_s,
// peak_rss_mib}} (bench/session8.sh, session9.sh) and prints a markdown table per file.
// Run: node bench/summarizeRounds.mjs bench/raw/session9-opt125m.jsonl ...
import { readFileSync } from 'node:fs';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const files = process.argv.slice(2).map((f) => ({
  f,
  rows: readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l)),
}));
for (const { f, rows } of files) {
  console.log(`\n${f}\n| setting | tokens/s (runs) | median | peak RSS MiB (median) |\n|---|---|---|---|`);
  for (const s of [...new Set(rows.map((r) => r.setting))]) {
    const mine = rows.filter((r) => r.setting === s);
    const tok = mine.map((r) => r.result.tokens_per_s);
    // 0.1 tok/s and 0.1 MiB, as the runs print them (a mean of two is not 23.950000000000003)
    const rss = median(mine.map((r) => r.result.peak_rss_mib));
    console.log(`| ${s} | ${tok.join(', ')} | ${+median(tok).toFixed(2)} | ${+rss.toFixed(1)} |`);
  }
}

// The ceiling (issue 15), where cola's rows carry step_flops and matmul_gflops (cola bench
// train-step since session 10): per round, each setting's useful GFLOP/s and its share of
// the linear-product rate measured in that cola run; the peer's rate counted with the same
// FLOPs as cola's default run of the round (the same model, batch and step), set against
// that run's measured rate. 1 / (peer share) bounds cola / peer: what cola would reach with
// every FLOP of its step at the measured product rate.
for (const { f, rows } of files) {
  if (!rows.some((r) => r.result.step_flops)) continue;
  console.log(`\n${f}: the step against the machine's measured linear-product rate`);
  console.log(
    '| round | setting | tokens/s | useful GFLOP/s | product GFLOP/s (same run) | share | ceiling on cola / peer |\n|---|---|---|---|---|---|---|',
  );
  const bounds = [];
  for (const round of [...new Set(rows.map((r) => r.round))]) {
    const mine = rows.filter((r) => r.round === round);
    const ref = mine.find((r) => r.setting === 'default' && r.result.step_flops);
    for (const r of mine) {
      const x = r.result;
      if (x.step_flops) {
        console.log(
          `| ${round} | ${r.setting} | ${x.tokens_per_s} | ${x.gflops_effective} | ${x.matmul_gflops} | ${(100 * x.matmul_share).toFixed(1)}% | |`,
        );
      } else if (ref) {
        const eff = ref.result.step_flops / x.step_s_median / 1e9;
        const share = eff / ref.result.matmul_gflops;
        bounds.push(1 / share);
        console.log(
          `| ${round} | ${r.setting} | ${x.tokens_per_s} | ${eff.toFixed(1)} | (${ref.result.matmul_gflops}, default's) | ${(100 * share).toFixed(1)}% | ${(1 / share).toFixed(2)}x |`,
        );
      }
    }
  }
  if (bounds.length) console.log(`\nceiling on cola / peer, median over rounds: ${median(bounds).toFixed(2)}x`);
}
