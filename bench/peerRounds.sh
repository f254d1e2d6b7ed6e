#!/usr/bin/env bash
# cola against the PyTorch peer in rotated rounds (issue 15): each round runs cola's default
# (bf16 storage, auto compute), cola on the checkpoint converted to f32 (--dtype f32) and the
# peer in f32 (its faster dtype on CPUs without bf16 instructions), the order rotated from
# round to round so a machine that speeds up or slows down favours no setting. Each cola run
# also reports its step's useful GFLOP and their share of the machine's linear-product rate
# measured in the same process (bench/flopCounter.ts); bench/summarizeRounds.mjs sets the
# peer's rate, counted with the same FLOPs, against that ceiling.
#
# Usage: bench/peerRounds.sh NAME [rounds (3)] [steps (3)] [preset (opt-125m)]
# SETTINGS="default torch" leaves out the f32 conversion (OPT-1.3B's f32 copy and its packed
# weights need ~16 GB); "torchbf16" adds the peer in bf16 (autocast), the issue's other peer
# dtype. Raw lines: bench/raw/NAME-PRESET.jsonl (appended). Run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: bench/peerRounds.sh NAME [rounds] [steps] [preset]}"
rounds="${2:-3}"
steps="${3:-3}"
preset="${4:-opt-125m}"
shared="${COLA_SHARED:-../shared}"
peer="$shared/bench/torch_lora_bench.py"
out="bench/raw/$name-$preset.jsonl"
mkdir -p bench/raw
[[ -f build/Release/cola_native.node ]] || { echo "peerRounds.sh: build the native addon first (npm run build:native)" >&2; exit 2; }
[[ -f "$peer" ]] || { echo "peerRounds.sh: the peer $peer is missing (set COLA_SHARED)" >&2; exit 2; }
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o 'avx512f\|avx512_bf16\|amx_bf16\|avx2\|fma' | sort -u | tr '\n' ' ' || true)
cores=$(nproc)
shape=(--preset "$preset")
[[ "$preset" == opt-1.3b ]] && shape+=(--batch 2 --seq 256)
openblasCore() { # OpenBLAS's kernels for this CPU (SkylakeX dies with SIGILL on AVX2-only CPUs)
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
run() { # setting -> one JSON line
  case "$1" in
    torch) OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "${shape[@]}" --dtype f32 --steps "$steps" --warmup 1 | tail -n 1 ;;
    torchbf16) OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "${shape[@]}" --dtype bf16 --steps "$steps" --warmup 1 | tail -n 1 ;;
    default) node bin/cola.js bench train-step --json "${shape[@]}" --steps "$steps" --warmup 1 | tail -n 1 ;;
    f32) node bin/cola.js bench train-step --json "${shape[@]}" --dtype f32 --steps "$steps" --warmup 1 | tail -n 1 ;;
  esac
}
echo "peerRounds.sh: $cpu ($flags), $cores cores, $preset, $rounds rounds of $steps steps -> $out" >&2
read -r -a settings <<<"${SETTINGS:-default f32 torch}"
count=${#settings[@]}
for ((i = 1; i <= rounds; i++)); do
  for ((j = 0; j < count; j++)); do
    s=${settings[$(((i - 1 + j) % count))]}
    line=$(run "$s")
    echo "{\"part\":\"$preset\",\"setting\":\"$s\",\"round\":$i,\"time\":\"$(date -u +%H:%M:%S)\",\"cpu\":\"$cpu\",\"flags\":\"$flags\",\"cores\":$cores,\"result\":$line}" | tee -a "$out"
  done
done
node bench/summarizeRounds.mjs "$out"
