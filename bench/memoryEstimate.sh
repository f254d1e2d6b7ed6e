#!/usr/bin/env bash
# The dry run's peak-memory estimate (models/memoryEstimate.ts) against measured peak RSS
# (session 11): `cola bench train-step` prints both for the same model and batch. One
# line per setting in bench/raw/NAME.jsonl; the table: node bench/summarizeMemory.mjs FILE.
# Usage: bench/memoryEstimate.sh NAME
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench/raw/${1:?usage: bench/memoryEstimate.sh NAME}.jsonl"
settings=(
  "--preset opt-125m"
  "--preset opt-125m --batch 4"
  "--preset opt-125m --dtype f32"
  "--preset opt-125m --checkpoint"
  "--preset opt-125m --quantize nf4"
  "--preset opt-125m --quantize q4_0 --targets all"
  "--preset opt-125m --targets all"
  "--preset llama2-7b --layers 2 --batch 2 --seq 128 --quantize nf4"
  "--preset llama2-7b --layers 2 --batch 8 --seq 128 --quantize nf4"
  "--preset llama2-7b --layers 2 --batch 2 --seq 128"
  "--preset opt-1.3b --batch 2 --seq 256"
)
for s in "${settings[@]}"; do
  # shellcheck disable=SC2086
  line=$(node bin/cola.js bench train-step --json --steps 1 --warmup 1 $s | tail -n 1)
  echo "{\"args\":\"$s\",\"time\":\"$(date -u +%H:%M:%S)\",\"result\":$line}" | tee -a "$out"
done
node bench/summarizeMemory.mjs "$out"
