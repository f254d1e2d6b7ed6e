"""Quantized-base vs unquantized dev loss from the experiment.json of each run.sh folder.

Usage: python3 docs/results/quantized-base/summarize.py runs/quantized-base
Dev loss = the run's best dev evaluation (here always its last, step 32); the difference to
the unquantized base is paired by seed (same data order, same adapter init)."""
import json
import math
import os
import sys

root = sys.argv[1]
LOFTQ = ["nf4-loftq", "q4_0-loftq", "nf4-loftq_iter_5", "q4_0-loftq_iter_5"]
ROWS = [
    # "-gptq": the same format with GPTQ codes (--quantize-calibration 128) instead of round-to-nearest;
    # "-loftq" / "-loftq_iter_5": LoftQ codes and first adapter (--lora-init loftq, 1 or 5 alternations)
    ("stories260K", "s260", ["none", "int8", "q8_0", "nf4", "q4_0", "nf4-gptq", "q4_0-gptq", *LOFTQ]),
    ("stories260K GGUF", "gguf", ["stories260K", "stories260K-q8_0"]),
    # "bin": --model stories3M-q80.bin, its int8 groups loaded as q8_0 (no flag)
    ("stories3M", "s3m", ["none", "int8", "q8_0", "nf4", "q4_0", "nf4-gptq", "q4_0-gptq", *LOFTQ, "bin"]),
    # QLoRA's recipe: LoRA on every linear layer (--targets all-linear)
    ("stories3M, all-linear", "s3m-all", ["none", "nf4", "q4_0", "nf4-loftq", "q4_0-loftq"]),
    # two more seeds (1, 2) of stories3M LoRA on q_proj / v_proj: unquantized, nf4 RTN, nf4 LoftQ
    ("stories3M, seeds 1-2", "s3m-seeds12", ["none", "nf4", "nf4-loftq"]),
]


def load(folder):
    f = os.path.join(root, folder, "experiment.json")
    return json.load(open(f)) if os.path.exists(f) else None


def dev_losses(exp, method):
    cells = [c for c in exp["cells"] if c["method"] == method and c.get("dev")]
    return {c["seed"]: c["dev"]["best"]["metrics"]["loss"] for c in cells}


def test_ppl(exp, method):
    cells = [c for c in exp["cells"] if c["method"] == method and c.get("test")]
    return [c["test"]["perplexity"] for c in cells]


def mean_std(xs):
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s


def paired(d, r):
    diffs = [d[k] - r[k] for k in d if k in r]
    return f"{sum(diffs) / len(diffs):+.4f} ({max(abs(x) for x in diffs):.4f})" if diffs else "—"


print(
    "| model | base | method | base dev loss | dev loss (seeds) | Δ vs unquantized, mean (max abs) "
    "| Δ vs round-to-nearest, mean (max abs) | test ppl |"
)
print("|---|---|---|---:|---:|---:|---:|---:|")
for model, prefix, formats in ROWS:
    ref = load(f"{prefix}-{formats[0]}")
    for fmt in formats:
        exp = load(f"{prefix}-{fmt}")
        if exp is None:
            continue
        base = math.log(exp["base"]["tinyshakespeare"]["dev"]["mean"])
        for method in [m["name"] for m in exp["methods"]]:
            d = dev_losses(exp, method)
            if not d:
                continue
            m, s = mean_std(list(d.values()))
            r = dev_losses(ref, method) if ref else {}
            delta = paired(d, r) if fmt != formats[0] else "—"
            # a -gptq / -loftq row against the same format's round-to-nearest row, paired by seed
            plain = fmt.split("-")[0]
            rtn = load(f"{prefix}-{plain}") if "-" in fmt else None
            vs_rtn = paired(d, dev_losses(rtn, method)) if rtn else "—"
            t = test_ppl(exp, method)
            tm, ts = mean_std(t)
            print(
                f"| {model} | {fmt} | {method} | {base:.4f} | {m:.4f} ± {s:.4f} ({len(d)}) | {delta} | {vs_rtn} | {tm:.2f} ± {ts:.2f} |"
            )
