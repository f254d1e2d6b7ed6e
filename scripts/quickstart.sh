#!/usr/bin/env bash
# The quickstart: a small COLA fine-tuning of a real model, compared with LoRA at
# the same budget. stories260K (TinyStories) adapted to Shakespeare; held-out perplexity.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${COLA_SHARED:-../shared}
OUT=${OUT:-runs/quickstart}
[ -f build/Release/cola_native.node ] && [ -f dist/src/cli/main.js ] || { npm ci && npm run build; }
if [ ! -f "$SHARED/models/stories260K/stories260K.bin" ]; then
  echo "quickstart: $SHARED/models/stories260K not found; set COLA_SHARED to the shared folder" >&2; exit 1
fi
mkdir -p "$OUT"
cola() { node bin/cola.js "$@"; }
cola convert llama2c "$SHARED/models/stories260K/stories260K.bin" "$SHARED/models/stories260K/tok512.bin" "$OUT/model"
# train on the first 24 KB of Tiny Shakespeare, hold out the next 6 KB
head -c 24000 "$SHARED/data/text/tinyshakespeare.txt" > "$OUT/train.txt"
head -c 30000 "$SHARED/data/text/tinyshakespeare.txt" | tail -c 6000 > "$OUT/dev.txt"
common=(--model "$OUT/model" --data "$OUT/train.txt" --dev-data "$OUT/dev.txt" --epochs 2 --batch-size 8 --max-length 64 --lr 3e-3 --seed 0 --save-every 0)
rm -rf "$OUT/lora" "$OUT/cola"
cola train "${common[@]}" --method lora --out "$OUT/lora"
cola train "${common[@]}" --method cola --chain-length 3 --out "$OUT/cola"
base=$(cola eval --model "$OUT/model" --data "$OUT/dev.txt" --max-length 64 --json)
lora=$(cola eval --model "$OUT/model" --adapter "$OUT/lora/adapter" --data "$OUT/dev.txt" --max-length 64 --json)
colar=$(cola eval --model "$OUT/model" --adapter "$OUT/cola/adapter" --data "$OUT/dev.txt" --max-length 64 --json)
node -e '
const [b, l, c] = process.argv.slice(1).map((s) => JSON.parse(s));
const row = (n, m) => `${n.padEnd(22)} ${m.loss.toFixed(4).padStart(8)} ${m.perplexity.toFixed(2).padStart(10)}`;
console.log("\nheld-out Tiny Shakespeare (6 KB), stories260K, same budget (2 epochs, rank 8 on q,v):");
console.log(`${"".padEnd(22)} ${"loss".padStart(8)} ${"perplexity".padStart(10)}`);
console.log(row("base model", b)); console.log(row("LoRA", l)); console.log(row("COLA (3 links)", c));
' "$base" "$lora" "$colar"
echo "reports: $OUT/lora/report.html $OUT/cola/report.html"
