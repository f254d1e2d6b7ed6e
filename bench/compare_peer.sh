#!/usr/bin/env bash
# cola vs the PyTorch peer on the same LoRA training step, run alternately in one
# session (A B A B ...) so both see the same machine load: the 2 shared cores can
# vary 2x between minutes, so only ratios of medians taken together mean anything.
#
# Usage: bench/compare_peer.sh [--preset opt-125m|opt-1.3b] [--dtype bf16|f32] [--rounds N] [--steps N]
# Needs: the native addon and dist/ built (npm run build:native && npx tsc -p tsconfig.json),
# Debian's python3-torch, and ideally libopenblas0 (else torch f32 runs on netlib's reference BLAS).
# The peer script comes from $COLA_SHARED/bench (default: ../shared next to the repo).
# COLA_BIN runs another cola entry point (e.g. a copy of bin/, dist/ and build/ taken
# before the run, so a rebuild of the working tree during a long run changes nothing).
set -euo pipefail
# OpenBLAS's kernels for this CPU: SkylakeX (AVX-512) where it has AVX-512, else Haswell
# (AVX2): forcing SkylakeX on an AVX2-only CPU dies with SIGILL (seen on an AMD EPYC
# without AVX-512), and leaving it unset misdetects some KVM guests as Prescott.
openblasCore() {
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
cd "$(dirname "$0")/.."

preset=opt-125m dtype=bf16 rounds=3 steps=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --dtype) dtype="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "compare_peer.sh: unknown flag $1 (flags: --preset, --dtype, --rounds, --steps)" >&2; exit 2 ;;
  esac
done

shared="${COLA_SHARED:-../shared}"
peer="$shared/bench/torch_lora_bench.py"
[[ -f "$peer" ]] || { echo "compare_peer.sh: $peer not found; set COLA_SHARED to the shared folder" >&2; exit 2; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

for ((i = 1; i <= rounds; i++)); do
  # A: cola (native backend), B: PyTorch; both print one JSON object last.
  line=$(node "${COLA_BIN:-bin/cola.js}" bench train-step --preset "$preset" --dtype "$dtype" --steps "$steps" --warmup 2 --json | tail -n 1)
  echo "cola  #$i: $line" >&2
  echo "cola $line" >>"$out"
  line=$(OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --preset "$preset" --dtype "$dtype" --steps "$steps" --warmup 2 | tail -n 1)
  echo "torch #$i: $line" >&2
  echo "torch $line" >>"$out"
done

node --input-type=module - "$out" "$preset" "$dtype" <<'JS'
import { readFileSync } from 'node:fs';
const [file, preset, dtype] = process.argv.slice(2);
const runs = { cola: [], torch: [] };
for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
  const at = line.indexOf(' ');
  runs[line.slice(0, at)].push(JSON.parse(line.slice(at + 1)));
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stat = (who, key) => median(runs[who].map((r) => r[key]));
console.log(`\n${preset} ${dtype}, ${runs.cola.length} alternating rounds (A = cola, B = PyTorch)`);
console.log('| run | cola tok/s | torch tok/s | cola peak RSS MiB | torch peak RSS MiB |');
console.log('|---|---|---|---|---|');
runs.cola.forEach((c, i) => console.log(`| #${i + 1} | ${c.tokens_per_s} | ${runs.torch[i].tokens_per_s} | ${c.peak_rss_mib} | ${runs.torch[i].peak_rss_mib} |`));
const [ct, tt, cr, tr] = [stat('cola', 'tokens_per_s'), stat('torch', 'tokens_per_s'), stat('cola', 'peak_rss_mib'), stat('torch', 'peak_rss_mib')];
console.log(`| median | ${ct} | ${tt} | ${cr} | ${tr} |`);
console.log(`tokens/s ratio cola/torch: ${(ct / tt).toFixed(2)}   peak-RSS ratio cola/torch: ${(cr / tr).toFixed(2)}`);
JS
