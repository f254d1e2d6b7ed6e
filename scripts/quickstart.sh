#!/usr/bin/env bash
# The quickstart: a small COLA fine-tuning compared with LoRA at the same budget, on
# held-out perplexity. With ../shared (or $COLA_SHARED): stories260K (TinyStories)
# adapted to Tiny Shakespeare. Without it: a built-in tiny model, pretrained here on
# synthetic stories, adapted to synthetic verse (scripts/builtin_task.ts).
#   bash scripts/quickstart.sh [--model DIR]   (DIR: a Hugging Face model folder to adapt instead)
#   env: COLA_SHARED (default ../shared), OUT (default runs/quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${COLA_SHARED:-../shared}
OUT=${OUT:-runs/quickstart}
usage="usage: bash scripts/quickstart.sh [--model DIR]   (env COLA_SHARED=shared folder, OUT=output folder)"
MODEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) [ $# -ge 2 ] && [ -n "$2" ] || { echo "quickstart: --model needs a folder; $usage" >&2; exit 2; }; MODEL=$2; shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "quickstart: unknown argument \"$1\"; $usage" >&2; exit 2 ;;
  esac
done
if [ -n "$MODEL" ] && [ ! -f "$MODEL/config.json" ]; then
  echo "quickstart: --model $MODEL: no config.json there; give a Hugging Face model folder (cola pull ORG/NAME downloads one)" >&2; exit 2
fi

# Set up: oneDNN and a compiler for the native addon (Debian packages, as root), the npm
# dependencies (npm ci also builds the addon), then compile when dist/ is older than a source.
if ! dpkg -s libdnnl-dev >/dev/null 2>&1 || ! command -v g++ >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "quickstart: installing libdnnl-dev g++ make (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq libdnnl-dev g++ make >/dev/null
  else
    echo "quickstart: oneDNN (libdnnl-dev) is missing; install it (sudo apt-get install libdnnl-dev g++ make) for the native backend" >&2
  fi
fi
[ -d node_modules ] || npm ci
if [ ! -f build/Release/cola_native.node ] && dpkg -s libdnnl-dev >/dev/null 2>&1; then
  npm run build:native >/dev/null || echo "quickstart: the native addon did not build (npm run build:native shows why)" >&2
fi
if [ ! -f dist/scripts/builtin_task.js ] || [ -n "$(find src scripts -name '*.ts' -newer dist/scripts/builtin_task.js | head -1)" ]; then
  npm run build
fi
mkdir -p "$OUT"
cola() { node bin/cola.js "$@"; }
if [ ! -f build/Release/cola_native.node ] && [ "${COLA_BACKEND:-}" != reference ]; then
  echo "quickstart: the native addon is not built (it needs libdnnl-dev, see README): the reference backend makes this take several minutes" >&2
fi
text="$SHARED/data/text/tinyshakespeare.txt"
real="$SHARED/models/stories260K"
if [ -f "$text" ]; then
  # train on the first 24 KB of Tiny Shakespeare, hold out the next 6 KB
  head -c 24000 "$text" > "$OUT/train.txt"
  head -c 30000 "$text" | tail -c 6000 > "$OUT/dev.txt"
  data="Tiny Shakespeare"
fi
if [ -n "$MODEL" ]; then
  name=$(basename "$MODEL")
  [ -f "$text" ] || { node dist/scripts/builtin_task.js "$OUT" --data-only; data="synthetic verse"; }
elif [ -f "$real/stories260K.bin" ] && [ -f "$text" ]; then
  MODEL="$OUT/model"; name=stories260K
  cola convert llama2c "$real/stories260K.bin" "$real/tok512.bin" "$MODEL"
else
  echo "quickstart: $real or $text not found (set COLA_SHARED to the shared folder for the real model);" >&2
  echo "quickstart: using the BUILT-IN TINY MODEL and SYNTHETIC TEXT instead: it shows the mechanics, not real-model quality" >&2
  node dist/scripts/builtin_task.js "$OUT"
  MODEL="$OUT/model-builtin"; name="built-in tiny model"; data="synthetic verse"
fi

common=(--model "$MODEL" --data "$OUT/train.txt" --dev-data "$OUT/dev.txt" --epochs 2 --batch-size 8 --max-length 64 --lr 3e-3 --seed 0 --save-every 0)
rm -rf "$OUT/lora" "$OUT/cola"
cola train "${common[@]}" --method lora --out "$OUT/lora"
cola train "${common[@]}" --method cola --chain-length 3 --out "$OUT/cola"
base=$(cola eval --model "$MODEL" --data "$OUT/dev.txt" --max-length 64 --json)
lora=$(cola eval --model "$MODEL" --adapter "$OUT/lora/adapter" --data "$OUT/dev.txt" --max-length 64 --json)
colar=$(cola eval --model "$MODEL" --adapter "$OUT/cola/adapter" --data "$OUT/dev.txt" --max-length 64 --json)
node -e '
const [title, b, l, c] = [process.argv[1], ...process.argv.slice(2).map((s) => JSON.parse(s))];
const row = (n, m) => `${n.padEnd(22)} ${m.loss.toFixed(4).padStart(8)} ${m.perplexity.toFixed(2).padStart(10)}`;
console.log(`\n${title}, same budget (2 epochs, rank 8 on q,v):`);
console.log(`${"".padEnd(22)} ${"loss".padStart(8)} ${"perplexity".padStart(10)}`);
console.log(row("base model", b)); console.log(row("LoRA", l)); console.log(row("COLA (3 links)", c));
' "held-out $data ($(wc -c < "$OUT/dev.txt" | tr -d ' ') bytes), $name" "$base" "$lora" "$colar"
echo "reports: $OUT/lora/report.html $OUT/cola/report.html"
