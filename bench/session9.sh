#!/usr/bin/env bash
# Session 9 (issue 15), on a quiet machine: the opt-125m and OPT-1.3B steps against the PyTorch
# peer after session 9's changes (one exp per attention score in the forward pass, LM-head
# chunks of up to 2^26 logits), in alternating rounds:
#
#  1. The ceiling: the FMA peak with 1 and all threads (bench/gemm/fmaPeak.c), 3 runs each.
#  2. opt-125m: cola's default (bf16 storage, auto compute), the checkpoint converted to f32
#     (--dtype f32) and the peer in f32 (its faster dtype on CPUs without bf16 instructions:
#     its bf16 autocast did not finish one step in 8 min, session 5); then one --profile run.
#  3. With a third argument "1.3b": the OPT-1.3B shape (batch 2 x 256), default against the
#     peer in f32, 2 rounds of 1 timed step after 1 warm-up.
#
# Usage: bench/session9.sh [rounds (4)] [steps (3)] [1.3b]   Raw: bench/raw/session9-*.
# ROTATE=1 bench/session9.sh [rounds] [steps]: only part 2's rounds, each round's order rotated
# (default f32 torch, f32 torch default, ...), so a machine that speeds up or slows down during
# the run favours no setting; raw lines in bench/raw/session9-opt125m-rotated.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-4}"
steps="${2:-3}"
shared="${COLA_SHARED:-../shared}"
raw=bench/raw
mkdir -p "$raw"
[[ -f build/Release/cola_native.node ]] || { echo "session9.sh: build the native addon first (npm run build:native)" >&2; exit 2; }
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
cores=$(nproc)
echo "session9.sh: $cpu, $cores cores, $rounds rounds of $steps steps; raw lines in $raw" >&2
rotate="${ROTATE:-0}"
node bin/cola.js doctor --json --seconds 2 | tail -n 1 >>"$raw/session9-doctor.jsonl"

[[ "$rotate" == 1 ]] || {
  for t in 1 "$cores"; do
    for r in 1 2 3; do OMP_NUM_THREADS=$t sh bench/gemm/run.sh peak; done
  done
} 2>&1 | tee -a "$raw/session9-peak.txt"

peer="$shared/bench/torch_lora_bench.py"
openblasCore() { # OpenBLAS's kernels for this CPU (SkylakeX dies with SIGILL on AVX2-only CPUs)
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
run() { # preset setting steps -> one JSON line
  local shape=(--preset "$1")
  [[ "$1" == opt-1.3b ]] && shape+=(--batch 2 --seq 256)
  case "$2" in
    torch) OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "${shape[@]}" --dtype f32 --steps "$3" --warmup 1 | tail -n 1 ;;
    default) node bin/cola.js bench train-step --json "${shape[@]}" --steps "$3" --warmup 1 | tail -n 1 ;;
    f32) node bin/cola.js bench train-step --json "${shape[@]}" --dtype f32 --steps "$3" --warmup 1 | tail -n 1 ;;
  esac
}
record() { # part setting round line file
  echo "{\"part\":\"$1\",\"setting\":\"$2\",\"round\":$3,\"cpu\":\"$cpu\",\"cores\":$cores,\"result\":$4}" | tee -a "$5"
}
if [[ "$rotate" == 1 ]]; then
  settings=(default f32 torch)
  for ((i = 1; i <= rounds; i++)); do
    for ((j = 0; j < 3; j++)); do
      s=${settings[$(((i - 1 + j) % 3))]}
      record opt-125m "$s" "$i" "$(run opt-125m "$s" "$steps")" "$raw/session9-opt125m-rotated.jsonl"
    done
  done
  node bench/summarizeRounds.mjs "$raw/session9-opt125m-rotated.jsonl"
  exit 0
fi
for ((i = 1; i <= rounds; i++)); do
  for s in default f32 torch; do record opt-125m "$s" "$i" "$(run opt-125m "$s" "$steps")" "$raw/session9-opt125m.jsonl"; done
done
node bin/cola.js bench train-step --preset opt-125m --steps 2 --warmup 1 --profile 2>&1 | tee "$raw/session9-opt125m-profile.txt"

if [[ "${3:-}" == 1.3b ]]; then
  for i in 1 2; do
    for s in default torch; do record opt-1.3b "$s" "$i" "$(run opt-1.3b "$s" 1)" "$raw/session9-opt13b.jsonl"; done
  done
fi

node bench/summarizeRounds.mjs "$raw"/session9-opt*.jsonl
