#!/usr/bin/env bash
# Session 6 (issue 15): cola's default path (bf16 storage, --compute auto) against the
# PyTorch peer in f32 and against cola with the checkpoint converted to f32, at the
# OPT-125m shape (batch 8 x 256) and the OPT-1.3B shape (batch 2 x 256), in alternating
# rounds (A B C A B C) so all three see the same machine. Run it on a quiet machine.
#
# Expected duration on the 2-core AVX2-only AMD EPYC of session 5: about 20-30 minutes
# (opt-125m: ~3.5 min a round; opt-1.3b: ~6-10 min a round), plus ~15 s of `cola doctor`.
#
# Usage: bench/session6.sh [rounds at opt-125m (2)] [rounds at opt-1.3b (2)]
#   SESSION6_SMOKE=1 bench/session6.sh 1 1   checks the script in ~1 min on a tiny shape
#                                             (lines go to /tmp, not bench/raw)
# Writes one JSON line per run to bench/raw/session6-train-step.jsonl:
#   {"label", "round", "cpu" (model name), "cores", "result" (the run's own JSON)}
# and `cola doctor --json` (CPU flags, threads, wait policy, the 1024^3 matmul probe)
# to bench/raw/session6-doctor.jsonl. Needs dist/ and the native addon built, and
# ../shared/bench/torch_lora_bench.py (or $COLA_SHARED/bench/...) with /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds125="${1:-2}"
rounds13="${2:-2}"
peer="${COLA_SHARED:-../shared}/bench/torch_lora_bench.py"
[[ -f "$peer" ]] || { echo "session6.sh: no PyTorch peer at $peer (set COLA_SHARED)" >&2; exit 2; }
[[ -f build/Release/cola_native.node ]] || { echo "session6.sh: build the native addon first (npm run build:native)" >&2; exit 2; }

# OpenBLAS's kernels for this CPU: SkylakeX (AVX-512) where it has AVX-512, else Haswell
# (AVX2): forcing SkylakeX on an AVX2-only CPU dies with SIGILL (session 5).
openblasCore() {
  if grep -q ' avx512f' /proc/cpuinfo; then echo SkylakeX; elif grep -q ' avx2' /proc/cpuinfo; then echo Haswell; else echo Prescott; fi
}
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//; s/"/\\"/g' || true)
cores=$(nproc)

raw=bench/raw
shape125=(--preset opt-125m)
shape13=(--preset opt-1.3b --batch 2 --seq 256)
if [[ -n "${SESSION6_SMOKE:-}" ]]; then # the peer's --preset wins over shape flags: none here
  raw=$(mktemp -d)
  shape125=(--layers 1 --d 64 --heads 2 --ffn 128 --vocab 512 --batch 1 --seq 32)
  shape13=(--layers 1 --d 128 --heads 2 --ffn 256 --vocab 512 --batch 1 --seq 32)
fi
out="$raw/session6-train-step.jsonl"
mkdir -p "$raw"

run() { # label, round, command... -> one tagged JSON line (also on stdout)
  local label="$1" round="$2"
  shift 2
  local line
  line=$("$@" | tail -n 1)
  echo "{\"label\":\"$label\",\"round\":$round,\"cpu\":\"$cpu\",\"cores\":$cores,\"result\":$line}" | tee -a "$out"
}
cola() { node bin/cola.js bench train-step --json "$@"; }
# The peer's default is 2 threads: give it the cores cola uses.
torch() { OPENBLAS_CORETYPE="$(openblasCore)" /usr/bin/python3 "$peer" --threads "$cores" "$@"; }

echo "session6.sh: $cpu, $cores cores; lines to $out" >&2
node bin/cola.js doctor --json --seconds 2 | tail -n 1 >>"$raw/session6-doctor.jsonl"

for ((i = 1; i <= rounds125; i++)); do
  run "opt-125m cola default (bf16 storage, auto)" "$i" cola "${shape125[@]}" --steps 3 --warmup 1
  run "opt-125m torch f32" "$i" torch "${shape125[@]}" --dtype f32 --steps 3 --warmup 1
  run "opt-125m cola f32" "$i" cola "${shape125[@]}" --dtype f32 --steps 3 --warmup 1
done
for ((i = 1; i <= rounds13; i++)); do
  run "opt-1.3b b2x256 cola default (bf16 storage, auto)" "$i" cola "${shape13[@]}" --steps 1 --warmup 1
  run "opt-1.3b b2x256 torch f32" "$i" torch "${shape13[@]}" --dtype f32 --steps 1 --warmup 1
  run "opt-1.3b b2x256 cola f32" "$i" cola "${shape13[@]}" --dtype f32 --steps 1 --warmup 1
done

# Medians per label, and cola default over the peer (the issue's target: >= 2.0x).
node --input-type=module - "$out" <<'JS'
import { readFileSync } from 'node:fs';
const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const by = new Map();
for (const r of rows) by.set(r.label, [...(by.get(r.label) ?? []), r.result]);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const tps = (r) => r.tokens_per_s;
console.log('\n| run | tokens/s (runs) | median | peak RSS MiB (median) |');
console.log('|---|---|---|---|');
const med = new Map();
for (const [label, rs] of by) {
  const t = median(rs.map(tps));
  med.set(label, t);
  console.log(`| ${label} | ${rs.map(tps).join(', ')} | ${t} | ${median(rs.map((r) => r.peak_rss_mib ?? NaN))} |`);
}
for (const shape of ['opt-125m', 'opt-1.3b b2x256']) {
  const ours = med.get(`${shape} cola default (bf16 storage, auto)`);
  const peer = med.get(`${shape} torch f32`);
  const f32 = med.get(`${shape} cola f32`);
  if (ours && peer) console.log(`${shape}: cola default / torch f32 = ${(ours / peer).toFixed(2)}x; cola default / cola f32 = ${(ours / f32).toFixed(2)}x`);
}
JS
