#!/usr/bin/env bash
# Issue 19, session 6: what data parallelism costs, for docs/DISTRIBUTED.md and
# bench/RESULTS.md ("Data parallel on Open MPI"). Run it on a quiet machine (nothing else
# running), after `npx tsc -p tsconfig.json` and `npm run build:native` (cola_mpi built).
#
# Expected duration on the 2-core AMD EPYC (AVX2) dev box, quiet, 2 rounds: ~35-50 min
#   A. the gradient all-reduce alone, 2 ranks, blocking vs watched (the watchdog's
#      MPI_Iallreduce + MPI_Test loop, what `cola train` uses), shared memory and TCP
#      loopback, OPT-125m and OPT-1.3B LoRA sizes (r 8 on q_proj,v_proj): ~1 min
#   B. one training step, OPT-125m shape, f32, batch 8 x 256 (the global batch):
#      1 rank x 2 threads vs 2 ranks x 1 thread, alternating: ~4 min a round
#   C. the same at the OPT-1.3B shape (bf16 storage, --checkpoint, batch 2 x 256):
#      ~12-20 min a round; two ranks hold two models (~3 GiB each; needs ~8 GiB free)
# The all-reduce time per step and its share of the step are allreduce_s_median and
# allreduce_share of the 2-rank train-step lines (timed after a barrier: the collective's
# own cost, not the wait for the slower rank).
#
# Usage: bench/mpi_session6.sh [rounds]        (default 2; raw JSON lines appended to
#        bench/raw/session6-mpi.jsonl, one per measurement, tagged with the CPU and load)
#        SMOKE=1 bench/mpi_session6.sh          (seconds: tiny shapes, 1 round, output to
#        /tmp/session6-mpi-smoke.jsonl; checks the script, measures nothing)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
out=bench/raw/session6-mpi.jsonl
if [[ "${SMOKE:-0}" == 1 ]]; then
  rounds=1
  out=/tmp/session6-mpi-smoke.jsonl
  : >"$out"
fi
mkdir -p "$(dirname "$out")"
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/"/\\"/g')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_tile)$' | paste -sd, -)
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)

tag() { # label -> each JSON line of stdin, tagged (CPU, cores, load, time), appended to $out
  local label="$1" line
  while IFS= read -r line; do
    [[ "$line" == "{"* ]] || continue
    printf '{"label":"%s","cpu":"%s","cpu_flags":"%s","nproc":%s,"load1":%s,"utc":"%s","result":%s}\n' \
      "$label" "$cpu" "$flags" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$(date -u +%FT%TZ)" "$line" | tee -a "$out"
  done
}

if [[ "${SMOKE:-0}" == 1 ]]; then
  repeats=3
  step125=(--preset opt-125m --d 64 --layers 2 --heads 2 --ffn 128 --vocab 512 --dtype f32 --batch 2 --seq 16 --steps 1 --warmup 0)
  step13=(--preset opt-1.3b --d 64 --layers 2 --heads 2 --ffn 128 --vocab 512 --batch 2 --seq 16 --steps 1 --warmup 0 --checkpoint)
else
  repeats=30
  step125=(--preset opt-125m --dtype f32 --batch 8 --seq 256 --steps 3 --warmup 1)
  step13=(--preset opt-1.3b --batch 2 --seq 256 --steps 2 --warmup 1 --checkpoint)
fi

echo "# session 6 MPI bench: $cpu ($(nproc) cores), $rounds round(s) -> $out" >&2
# A. the all-reduce alone
OMP_NUM_THREADS=1 "${MPIRUN[@]}" -x OMP_NUM_THREADS node dist/bench/mpiAllreduce.js --repeats "$repeats" | tag "allreduce shm"
OMP_NUM_THREADS=1 "${MPIRUN[@]}" --mca btl tcp,self -x OMP_NUM_THREADS node dist/bench/mpiAllreduce.js --repeats "$repeats" |
  tag "allreduce tcp loopback"

# B, C. one step: 1 rank x 2 threads against 2 ranks x 1 thread, same global batch, alternating
for ((i = 1; i <= rounds; i++)); do
  for shape in 125 13; do
    if [[ $shape == 125 ]]; then args=("${step125[@]}"); name=opt-125m; else args=("${step13[@]}"); name=opt-1.3b; fi
    OMP_NUM_THREADS=2 node bin/cola.js bench train-step "${args[@]}" --json | tag "$name 1 rank x 2 threads"
    OMP_NUM_THREADS=1 "${MPIRUN[@]}" -x OMP_NUM_THREADS node bin/cola.js bench train-step "${args[@]}" --json |
      tag "$name 2 ranks x 1 thread"
  done
done
echo "# done: $(grep -c . "$out") line(s) in $out" >&2
