#!/usr/bin/env bash
# Issue 15 on an AVX2-only CPU (no avx512_bf16, no AMX): cola's default path (bf16
# storage, --compute auto -> f32 here) against the PyTorch peer in f32 and bf16, and
# against cola with the checkpoint converted to f32; alternating (A B C A B C ...).
# Raw JSON lines go to bench/raw/session5-avx2.jsonl. Usage: bench/session5_avx2.sh [rounds]
set -euo pipefail
# OpenBLAS's kernels for this CPU: SkylakeX (AVX-512) where it has AVX-512, else Haswell
# (AVX2): forcing SkylakeX on an AVX2-only CPU dies with SIGILL (seen on an AMD EPYC
# without AVX-512), and leaving it unset misdetects some KVM guests as Prescott.
openblasCore() {
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
cd "$(dirname "$0")/.."
rounds="${1:-2}"
out=bench/raw/session5-avx2.jsonl
peer="${COLA_SHARED:-../shared}/bench/torch_lora_bench.py"
run() { # label, command... -> one tagged JSON line
  local label="$1"; shift
  local line
  line=$("$@" | tail -n 1)
  echo "{\"label\":\"$label\",\"result\":$line}" | tee -a "$out"
}
torch() { OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" "$@"; }
for ((i = 1; i <= rounds; i++)); do
  run "opt-125m cola default (bf16 storage, auto)" node bin/cola.js bench train-step --preset opt-125m --steps 3 --warmup 1 --json
  run "opt-125m torch f32" torch --preset opt-125m --dtype f32 --steps 3 --warmup 1
  run "opt-125m cola f32" node bin/cola.js bench train-step --preset opt-125m --dtype f32 --steps 3 --warmup 1 --json
done
run "opt-125m torch bf16" torch --preset opt-125m --dtype bf16 --steps 1 --warmup 1
for ((i = 1; i <= rounds; i++)); do
  run "opt-1.3b b2 cola default" node bin/cola.js bench train-step --preset opt-1.3b --batch 2 --steps 1 --warmup 1 --json
  run "opt-1.3b b2 torch f32" torch --preset opt-1.3b --batch 2 --dtype f32 --steps 1 --warmup 1
done
