#!/usr/bin/env bash
# Session 7 (issue 15), run on a quiet machine, three parts in alternating rounds:
#
#  1. A user on a loaded machine (the issue's report: a small sst2 COLA run took 27.9 s with
#     the default threads and 3.7 s with OMP_NUM_THREADS=1): while LOAD busy processes
#     compete for the cores, `cola train` (stories260K, sst2, 3-link COLA, 8 steps) and
#     `cola eval --run` are timed (wall clock) with cola's defaults (passive wait policy,
#     the small-op threshold), with OMP_NUM_THREADS=1, and with OMP_WAIT_POLICY=active
#     (threads that spin: what the defaults replaced).
#  2. bench/threadsUnderLoad.sh at a small train-step shape (its own JSON lines).
#  3. opt-125m: cola's default (bf16 storage, auto compute = f32 widened per product) against
#     the same with f32 copies of the bf16 weights kept at training shapes
#     (COLA_WIDEN_MIN_ROWS=Infinity, within the COLA_PACK_BUDGET_MB budget) and against the
#     checkpoint converted to f32 (--dtype f32): the issue's "a bf16 checkpoint must train at
#     least as fast as the same checkpoint converted to f32"; and the PyTorch peer in f32 (its
#     faster dtype on a CPU without bf16 instructions), in the same rounds.
#
# Usage: bench/session7.sh [rounds (2)] [load (3)]      SMOKE=1: a one-round check in ~2 min
# Raw JSON lines: bench/raw/session7-*.jsonl (SMOKE: a temporary folder). Needs dist/, the
# native addon, ../shared (stories260K, SST-2; or $COLA_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-2}"
load="${2:-3}"
shared="${COLA_SHARED:-../shared}"
model="$shared/models/stories260K/stories260K.bin"
[[ -f "$model" ]] || { echo "session7.sh: no $model (set COLA_SHARED)" >&2; exit 2; }
[[ -f build/Release/cola_native.node ]] || { echo "session7.sh: build the native addon first (npm run build:native)" >&2; exit 2; }
raw=bench/raw
steps125=3
if [[ -n "${SMOKE:-}" ]]; then raw=$(mktemp -d); rounds=1; fi
mkdir -p "$raw"
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o 'avx512f\|avx512_bf16\|amx_bf16\|avx2\|fma' | sort -u | tr '\n' ' ' || true)
cores=$(nproc)
work=$(mktemp -d)
loaders=()
cleanup() {
  for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
echo "session7.sh: $cpu ($flags), $cores cores, $rounds rounds, load $load; raw lines in $raw" >&2
node bin/cola.js doctor --json --seconds 2 | tail -n 1 >>"$raw/session7-doctor.jsonl"

# --- 1. a user on a loaded machine ------------------------------------------------------
for ((j = 0; j < load; j++)); do
  node -e 'for (;;) {}' &
  loaders+=("$!")
done
sleep 5
settingEnv() {
  case "$1" in
    default) echo COLA_SESSION7=default ;;
    omp1) echo OMP_NUM_THREADS=1 ;;
    active) echo OMP_WAIT_POLICY=active ;;
  esac
}
seconds() { # command... -> wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
for ((i = 1; i <= rounds; i++)); do
  for s in default omp1 active; do
    run="$work/run-$s-$i"
    train=$(seconds env "$(settingEnv "$s")" node bin/cola.js train --model "$model" --task sst2 --data-dir "$shared/data" \
      --num-train 64 --num-dev 32 --num-test 32 --method cola --chain-length 3 --epochs 1 --batch-size 8 --max-length 64 \
      --out "$run" --quiet)
    ev=$(seconds env "$(settingEnv "$s")" node bin/cola.js eval --run "$run")
    la=$(cut -d' ' -f1 /proc/loadavg)
    line="{\"part\":\"user-under-load\",\"setting\":\"$s\",\"round\":$i,\"load\":$load,\"loadavg\":$la,\"cpu\":\"$cpu\",\"cores\":$cores,\"train_s\":$train,\"eval_s\":$ev}"
    echo "$line" | tee -a "$raw/session7-user-under-load.jsonl"
  done
done
for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
loaders=()

# --- 2. the train-step benchmark under load ----------------------------------------------
bash bench/threadsUnderLoad.sh --load 2 --rounds "$rounds" --steps 2 --out "$raw/session7-threads-under-load.jsonl" \
  -- --layers 2 --batch 4 --seq 128

# --- 3. opt-125m: widened per product, f32 copies, f32 checkpoint, the PyTorch peer in f32 -------
peer="$shared/bench/torch_lora_bench.py"
openblasCore() { # OpenBLAS's kernels for this CPU (SkylakeX dies with SIGILL on AVX2-only CPUs)
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
shape=(--preset opt-125m)
[[ -n "${SMOKE:-}" ]] && shape=(--layers 1 --d 256 --heads 4 --ffn 512 --vocab 1024 --batch 2 --seq 256) && steps125=1
for ((i = 1; i <= rounds; i++)); do
  for s in default copies f32 torch; do
    case "$s" in
      torch) line=$(OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "${shape[@]}" --dtype f32 --steps $steps125 --warmup 1 | tail -n 1) ;;
      default) line=$(node bin/cola.js bench train-step --json "${shape[@]}" --steps $steps125 --warmup 1 | tail -n 1) ;;
      copies) line=$(COLA_WIDEN_MIN_ROWS=Infinity node bin/cola.js bench train-step --json "${shape[@]}" --steps $steps125 --warmup 1 | tail -n 1) ;;
      f32) line=$(node bin/cola.js bench train-step --json "${shape[@]}" --dtype f32 --steps $steps125 --warmup 1 | tail -n 1) ;;
    esac
    echo "{\"part\":\"opt-125m\",\"setting\":\"$s\",\"round\":$i,\"cpu\":\"$cpu\",\"cores\":$cores,\"result\":$line}" | tee -a "$raw/session7-opt125m.jsonl"
  done
done

node --input-type=module - "$raw/session7-user-under-load.jsonl" "$raw/session7-opt125m.jsonl" <<'JS'
import { readFileSync } from 'node:fs';
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const group = (rows, key, val) => { const m = new Map(); for (const r of rows) m.set(r[key], [...(m.get(r[key]) ?? []), val(r)]); return m; };
const read = (f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const user = read(process.argv[2]);
console.log('\n| setting (loaded machine) | cola train s (runs) | median | cola eval s (runs) | median |');
console.log('|---|---|---|---|---|');
const tr = group(user, 'setting', (r) => r.train_s), ev = group(user, 'setting', (r) => r.eval_s);
for (const [k, xs] of tr) console.log(`| ${k} | ${xs.map((x) => x.toFixed(1)).join(', ')} | ${median(xs).toFixed(1)} | ${ev.get(k).map((x) => x.toFixed(2)).join(', ')} | ${median(ev.get(k)).toFixed(2)} |`);
const opt = read(process.argv[3]);
console.log('\n| opt-125m | tokens/s (runs) | median | peak RSS MiB (median) |');
console.log('|---|---|---|---|');
const tps = group(opt, 'setting', (r) => r.result.tokens_per_s), rss = group(opt, 'setting', (r) => r.result.peak_rss_mib);
for (const [k, xs] of tps) console.log(`| ${k} | ${xs.join(', ')} | ${median(xs)} | ${median(rss.get(k))} |`);
JS
