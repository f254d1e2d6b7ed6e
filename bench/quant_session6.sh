#!/usr/bin/env bash
# Issue 17 on a quiet machine: LoRA steps on an unquantized vs int8 vs nf4 base at
# OPT-1.3B's shape (batch 2 x 256 tokens; target: int8 and nf4 at >= 0.6x the
# unquantized tokens/s), alternating (none int8 nf4 none int8 nf4 ...), then the
# quantized product against the f32 one at OPT-1.3B's matrix shapes (bench/quantMatmul.ts).
# JSON lines (tagged with a label) go to bench/raw/session6-quant.jsonl.
#
# Expected duration on the 2-core AVX2 EPYC: ~25 min for 2 rounds (each train-step run:
# ~15-30 s to build, one warm-up step and one timed step of ~75 s each; the unquantized
# one is the session-5 "opt-1.3b b2 cola default"), plus ~2 min for the micro-benchmark.
# Needs the native addon (npm run build:native) and a compiled tree (npx tsc -p tsconfig.json).
#
# Usage: bench/quant_session6.sh [rounds]   (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
out=bench/raw/session6-quant.jsonl
run() { # label, command... -> one tagged JSON line
  local label="$1"; shift
  local line
  line=$("$@" | tail -n 1)
  echo "{\"label\":\"$label\",\"result\":$line}" | tee -a "$out"
}
step=(node bin/cola.js bench train-step --preset opt-1.3b --batch 2 --seq 256 --steps 1 --warmup 1 --json)
for ((i = 1; i <= rounds; i++)); do
  run "opt-1.3b b2 unquantized (bf16 storage)" "${step[@]}"
  run "opt-1.3b b2 int8" "${step[@]}" --quantize int8
  run "opt-1.3b b2 nf4" "${step[@]}" --quantize nf4
done
node dist/bench/quantMatmul.js --formats int8,nf4,q8_0,q4_0 --reps 3 | while read -r line; do
  echo "{\"label\":\"quantMatmul vs f32 matmul, M=512\",\"result\":$line}" | tee -a "$out"
done
