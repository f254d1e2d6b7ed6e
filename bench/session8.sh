#!/usr/bin/env bash
# Session 8 (issue 15), on a quiet machine: cola's own AVX2 kernel for the f32 products of
# bf16 weights (native/gemm.cc), measured three ways in one session:
#
#  1. The ceiling: the FMA peak with 1 and all threads (bench/gemm/fmaPeak.c), and the step's
#     products alone, oneDNN's sgemm against cola's kernel with an f32 and a bf16 B, 1 and all
#     threads (bench/gemm/harness.cc).
#  2. opt-125m in alternating rounds: cola's default (bf16 storage, auto compute: f32 products
#     on cola's kernel here), the same with COLA_GEMM=onednn (session 7's path: oneDNN, the
#     weight widened a panel at a time), the checkpoint converted to f32 (--dtype f32), and
#     the PyTorch peer in f32 (its faster dtype on a CPU without bf16 instructions: its bf16
#     autocast did not finish one step in 8 min here, session 5).
#  3. With a third argument "1.3b": the OPT-1.3B shape (batch 2 x 256), default against the
#     peer in f32, alternated, 1 timed step after 1 warm-up each.
#
# Usage: bench/session8.sh [rounds (3)] [steps (3)] [1.3b]   Raw: bench/raw/session8-*.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
steps="${2:-3}"
shared="${COLA_SHARED:-../shared}"
raw=bench/raw
mkdir -p "$raw"
[[ -f build/Release/cola_native.node ]] || { echo "session8.sh: build the native addon first (npm run build:native)" >&2; exit 2; }
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
cores=$(nproc)
echo "session8.sh: $cpu, $cores cores, $rounds rounds of $steps steps; raw lines in $raw" >&2
node bin/cola.js doctor --json --seconds 2 | tail -n 1 >>"$raw/session8-doctor.jsonl"

# --- 1. the ceiling -----------------------------------------------------------------------
{
  for t in 1 "$cores"; do
    for r in 1 2 3; do OMP_NUM_THREADS=$t sh bench/gemm/run.sh peak; done
    OMP_NUM_THREADS=$t sh bench/gemm/run.sh 7
  done
} 2>&1 | tee -a "$raw/session8-products.txt"

# --- 2. opt-125m --------------------------------------------------------------------------
peer="$shared/bench/torch_lora_bench.py"
openblasCore() { # OpenBLAS's kernels for this CPU (SkylakeX dies with SIGILL on AVX2-only CPUs)
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
run() { # preset setting -> one JSON line
  local shape=(--preset "$1")
  [[ "$1" == opt-1.3b ]] && shape+=(--batch 2 --seq 256)
  case "$2" in
    torch) OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "${shape[@]}" --dtype f32 --steps "$3" --warmup 1 | tail -n 1 ;;
    default) node bin/cola.js bench train-step --json "${shape[@]}" --steps "$3" --warmup 1 | tail -n 1 ;;
    onednn) COLA_GEMM=onednn node bin/cola.js bench train-step --json "${shape[@]}" --steps "$3" --warmup 1 | tail -n 1 ;;
    f32) node bin/cola.js bench train-step --json "${shape[@]}" --dtype f32 --steps "$3" --warmup 1 | tail -n 1 ;;
  esac
}
for ((i = 1; i <= rounds; i++)); do
  for s in default onednn f32 torch; do
    line=$(run opt-125m "$s" "$steps")
    echo "{\"part\":\"opt-125m\",\"setting\":\"$s\",\"round\":$i,\"cpu\":\"$cpu\",\"cores\":$cores,\"result\":$line}" | tee -a "$raw/session8-opt125m.jsonl"
  done
done

# 2b. products with and without a step's allocation pressure (V8 collections)
node bench/gcPressure.mjs 2>&1 | tee -a "$raw/session8-gc-pressure.txt"

# where the default step's time goes (one run, --profile: every backend primitive timed)
node bin/cola.js bench train-step --preset opt-125m --steps 2 --warmup 1 --profile 2>&1 | tee "$raw/session8-opt125m-profile.txt"

# --- 3. OPT-1.3B ----------------------------------------------------------------------------
if [[ "${3:-}" == 1.3b ]]; then
  for i in 1 2; do
    for s in default torch; do
      line=$(run opt-1.3b "$s" 1)
      echo "{\"part\":\"opt-1.3b\",\"setting\":\"$s\",\"round\":$i,\"cpu\":\"$cpu\",\"cores\":$cores,\"result\":$line}" | tee -a "$raw/session8-opt13b.jsonl"
    done
  done
fi

node bench/summarizeRounds.mjs "$raw"/session8-opt*.jsonl
