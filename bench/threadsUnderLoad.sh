#!/usr/bin/env bash
# OpenMP wait policy and the small-op threshold, compared under load (issue 15).
# While `--load N` busy processes compete for the cores (another worker, a build),
# spinning OpenMP threads steal the cores the working ones need, and threading tiny
# ops pays a wake-up per op. Settings run alternately in one session (A B C A B C ...)
# so all see the same machine; only ratios of medians taken together mean anything.
#
# Settings (each a `cola bench train-step --json` run, tokens/s):
#   passive      OMP_WAIT_POLICY=passive (cola's default, bin/cola.js)
#   spin         GOMP_SPINCOUNT=300000: libgomp's own default (spin ~300k iterations, then sleep)
#   spinN        GOMP_SPINCOUNT=N (e.g. spin20000)
#   active       OMP_WAIT_POLICY=active (spin forever)
#   passive-min0 passive, COLA_PARALLEL_MIN=0: every elementwise/norm/softmax op threaded
#
# Usage: bench/threadsUnderLoad.sh [--load N] [--rounds N] [--steps N] [--threads N]
#          [--settings "passive spin ..."] [--out FILE] [-- extra `cola bench train-step` flags]
# e.g.   bench/threadsUnderLoad.sh --load 2 --rounds 3 -- --layers 2 --dtype bf16
# Each run appends one JSON line to --out (default bench/raw/threads-under-load.jsonl):
# {"setting", "round", "load", "cpu" (the model name in /proc/cpuinfo), "cores", "env",
# "result" (the train-step JSON)}; a table of medians follows on stdout.
# Needs dist/ and the native addon built. --load 0 measures the idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

load=2 rounds=3 steps=3 threads="" settings="passive spin active passive-min0" raw=bench/raw/threads-under-load.jsonl
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --load) load="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --settings) settings="$2"; shift 2 ;;
    --out) raw="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "threadsUnderLoad.sh: unknown flag $1 (flags: --load, --rounds, --steps, --threads, --settings, --out, -- bench flags)" >&2; exit 2 ;;
  esac
done

cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
cores=$(nproc)
mkdir -p "$(dirname "$raw")"
out="$(mktemp)"
loaders=()
cleanup() {
  for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "$out"
}
trap cleanup EXIT
for ((j = 0; j < load; j++)); do
  node -e 'for (;;) {}' &
  loaders+=("$!")
done

settingEnv() { # setting -> the variables it sets, one per line
  case "$1" in
    passive) echo OMP_WAIT_POLICY=passive ;;
    spin) echo GOMP_SPINCOUNT=300000 ;;
    spin[0-9]*) echo GOMP_SPINCOUNT="${1#spin}" ;;
    active) echo OMP_WAIT_POLICY=active ;;
    passive-min0) printf '%s\n' OMP_WAIT_POLICY=passive COLA_PARALLEL_MIN=0 ;;
    *) echo "threadsUnderLoad.sh: unknown setting $1 (passive, spin, spinN, active, passive-min0)" >&2; exit 2 ;;
  esac
  [[ -z "$threads" ]] || echo OMP_NUM_THREADS="$threads"
}

run() { # setting -> one JSON line
  local -a vars
  mapfile -t vars < <(settingEnv "$1")
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u COLA_PARALLEL_MIN "${vars[@]}" \
    node bin/cola.js bench train-step --steps "$steps" --warmup 1 --json "${extra[@]}" | tail -n 1
}

for s in $settings; do settingEnv "$s" >/dev/null; done # an unknown setting stops before any run
for ((i = 1; i <= rounds; i++)); do
  for s in $settings; do
    line=$(run "$s")
    echo "$s #$i: $line" >&2
    echo "$s $line" >>"$out"
    vars=$(settingEnv "$s" | paste -sd' ')
    echo "{\"setting\":\"$s\",\"round\":$i,\"load\":$load,\"cpu\":\"$cpu\",\"cores\":$cores,\"env\":\"$vars\",\"result\":$line}" >>"$raw"
  done
done

node --input-type=module - "$out" "$load" <<'JS'
import { readFileSync } from 'node:fs';
const [file, load] = process.argv.slice(2);
const runs = new Map();
for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
  const at = line.indexOf(' ');
  const key = line.slice(0, at);
  if (!runs.has(key)) runs.set(key, []);
  runs.get(key).push(JSON.parse(line.slice(at + 1)).tokens_per_s);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const base = median(runs.get('passive') ?? [...runs.values()][0]);
console.log(`\nthreads settings with ${load} busy processes, alternating rounds (tokens/s)`);
console.log('| setting | runs | median | vs passive |');
console.log('|---|---|---|---|');
for (const [k, xs] of runs) console.log(`| ${k} | ${xs.join(', ')} | ${median(xs)} | ${(median(xs) / base).toFixed(2)} |`);
JS
