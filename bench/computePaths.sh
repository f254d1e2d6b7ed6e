#!/usr/bin/env bash
# One checkpoint, three compute paths, alternating in one session (issue 15):
#   f32           weights stored and computed in f32 (the converted checkpoint)
#   bf16-as-bf16  weights stored bf16, products in bf16 (COLA_COMPUTE=bf16)
#   bf16-as-f32   weights stored bf16, products in f32 (COLA_COMPUTE=f32: widened
#                 copies within COLA_PACK_BUDGET_MB, per-call widening beyond it)
# On a CPU without avx512_bf16/AMX, bf16-as-f32 must be at least as fast as f32, and
# `auto` picks it there (cola doctor says which path auto takes).
#
# Usage: bench/computePaths.sh [--rounds N] [--steps N] [--paths "f32 bf16-as-bf16 bf16-as-f32"]
#          [-- extra `cola bench train-step` flags, e.g. --preset opt-1.3b --checkpoint]
# Needs dist/ and the native addon built.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 steps=3 paths="f32 bf16-as-bf16 bf16-as-f32"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --paths) paths="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "computePaths.sh: unknown flag $1 (flags: --rounds, --steps, --paths, -- bench flags)" >&2; exit 2 ;;
  esac
done

out="$(mktemp)"
trap 'rm -f "$out"' EXIT

run() { # path -> one JSON line
  case "$1" in
    f32) env COLA_COMPUTE=auto node bin/cola.js bench train-step --dtype f32 --steps "$steps" --warmup 1 --json "${extra[@]}" ;;
    bf16-as-bf16) env COLA_COMPUTE=bf16 node bin/cola.js bench train-step --dtype bf16 --steps "$steps" --warmup 1 --json "${extra[@]}" ;;
    bf16-as-f32) env COLA_COMPUTE=f32 node bin/cola.js bench train-step --dtype bf16 --steps "$steps" --warmup 1 --json "${extra[@]}" ;;
    *) echo "computePaths.sh: unknown path $1" >&2; exit 2 ;;
  esac | tail -n 1
}

for ((i = 1; i <= rounds; i++)); do
  for p in $paths; do
    line=$(run "$p")
    echo "$p #$i: $line" >&2
    echo "$p $line" >>"$out"
  done
done

node --input-type=module - "$out" <<'JS'
import { readFileSync } from 'node:fs';
const runs = new Map();
for (const line of readFileSync(process.argv[2], 'utf8').trim().split('\n')) {
  const at = line.indexOf(' ');
  const key = line.slice(0, at);
  if (!runs.has(key)) runs.set(key, []);
  runs.get(key).push(JSON.parse(line.slice(at + 1)));
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const base = runs.has('f32') ? median(runs.get('f32').map((r) => r.tokens_per_s)) : null;
console.log('\n| path | tokens/s (runs) | median | vs f32 | median peak RSS MiB |');
console.log('|---|---|---|---|---|');
for (const [k, rs] of runs) {
  const t = median(rs.map((r) => r.tokens_per_s));
  console.log(`| ${k} | ${rs.map((r) => r.tokens_per_s).join(', ')} | ${t} | ${base ? (t / base).toFixed(2) : '-'} | ${median(rs.map((r) => r.peak_rss_mib))} |`);
}
JS
