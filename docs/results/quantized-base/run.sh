#!/bin/sh
# Quantized-base LoRA / COLA vs the unquantized base (issue 17, docs/RESULTS.md §5).
# The setup of RESULTS.md §2 / §3 (Tiny Shakespeare, 256 training windows of 128 tokens,
# 1 epoch = 32 steps of batch 8), one `cola experiment` per base format, run one at a time.
# Run from the repository root after building (npx tsc -p tsconfig.json).
set -e
S=../shared
OUT=${OUT:-runs/quantized-base}
[ -d runs/models/s260 ] || node bin/cola.js convert llama2c $S/models/stories260K/stories260K.bin $S/models/stories260K/tok512.bin runs/models/s260
[ -d runs/models/s3m ] || node bin/cola.js convert llama2c $S/models/stories3M/stories3M-q80.bin $S/models/stories3M/tok4096.bin runs/models/s3m
common="--data $S/data/text/tinyshakespeare.txt --max-length 128 --num-train 256 --num-dev 64 --num-test 64 --epochs 1 --batch-size 8 --methods lora,cola-l3 --quiet"
for q in none int8 q8_0 nf4 q4_0; do
  flag=$([ $q = none ] && echo "" || echo "--quantize $q")
  node bin/cola.js experiment --model runs/models/s260 $common --lrs 1e-2 --seeds 3 $flag --out $OUT/s260-$q
done
# the same model as llama.cpp users have it: an F32 GGUF and a Q8_0 GGUF (linear weights kept as q8_0, no flag)
for f in stories260K stories260K-q8_0; do
  node bin/cola.js experiment --model $S/models/gguf/$f.gguf $common --lrs 1e-2 --seeds 3 --out $OUT/gguf-$f
done
for q in none q8_0 nf4 q4_0 int8; do
  flag=$([ $q = none ] && echo "" || echo "--quantize $q")
  node bin/cola.js experiment --model runs/models/s3m $common --lrs 3e-3 --seeds 1 $flag --out $OUT/s3m-$q
done
# llama2.c's own int8 file loaded directly: its int8 codes and f32 group scales kept as int8g (exact), no flag
node bin/cola.js experiment --model $S/models/stories3M/stories3M-q80.bin $common --lrs 3e-3 --seeds 1 --out $OUT/s3m-bin
# QLoRA's recipe: adapters on every linear layer (not only q_proj, v_proj), unquantized vs nf4 / q4_0
for q in none nf4 q4_0; do
  flag=$([ $q = none ] && echo "" || echo "--quantize $q")
  node bin/cola.js experiment --model runs/models/s3m $common --methods lora --targets all-linear --lrs 3e-3 --seeds 1 $flag --out $OUT/s3m-all-$q
done
# GPTQ codes instead of round-to-nearest (--quantize-calibration 128: GPTQ on the first 128 of
# the 256 training windows; same formats, kernels and adapters), for the 4-bit bases
for q in nf4 q4_0; do
  node bin/cola.js experiment --model runs/models/s260 $common --lrs 1e-2 --seeds 3 --quantize $q --quantize-calibration 128 --out $OUT/s260-$q-gptq
  node bin/cola.js experiment --model runs/models/s3m $common --lrs 3e-3 --seeds 1 --quantize $q --quantize-calibration 128 --out $OUT/s3m-$q-gptq
done
# LoftQ (--lora-init loftq: the codes and the first link's A, B chosen together, PEFT's
# init_lora_weights="loftq"; loftq_iter_5: 5 alternations) instead of round-to-nearest codes
# with a kaiming adapter; same formats, kernels, adapters and seeds. Run in this order.
for init in loftq loftq_iter_5; do
  for q in nf4 q4_0; do
    node bin/cola.js experiment --model runs/models/s260 $common --lrs 1e-2 --seeds 3 --quantize $q --lora-init $init --out $OUT/s260-$q-$init
    node bin/cola.js experiment --model runs/models/s3m $common --lrs 3e-3 --seeds 1 --quantize $q --lora-init $init --out $OUT/s3m-$q-$init
  done
  if [ $init = loftq ]; then
    for q in nf4 q4_0; do
      node bin/cola.js experiment --model runs/models/s3m $common --methods lora --targets all-linear --lrs 3e-3 --seeds 1 --quantize $q --lora-init loftq --out $OUT/s3m-all-$q-loftq
    done
  fi
done
# (s3m-q4_0-rerun and s3m-all-q4_0-rerun, kept for docs/RESULTS.md §5's account of the quantizer's
# FMA-contraction bug, were round-to-nearest q4_0 rerun on the buggy quantizer; with it fixed they
# equal s3m-q4_0 / s3m-all-q4_0, so they are not rerun, and every LoftQ row was rerun in session 13.)
# stories3M nf4 LoftQ vs RTN on two more seeds (LoRA on q_proj / v_proj)
for q in none nf4 nf4-loftq; do
  case $q in none) flag="";; nf4) flag="--quantize nf4";; nf4-loftq) flag="--quantize nf4 --lora-init loftq";; esac
  node bin/cola.js experiment --model runs/models/s3m $common --methods lora --lrs 3e-3 --seeds 1,2 $flag --out $OUT/s3m-seeds12-$q
done
# the untrained model: where the 4-bit loss sits, what LoftQ's first adapter does to it (loftqInit.txt)
for q in nf4 q4_0; do node docs/results/quantized-base/loftqInit.mjs runs/models/s3m $q; done
