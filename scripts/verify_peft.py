"""Check cola's outputs in the Python tools people deploy with (development only).

For each run written by scripts/peft_check.ts: transformers loads the base fixture,
PEFT applies cola's adapter/ (a COLA chain of 3 links written as ONE LoRA), and
transformers loads the merged folder; their logits must equal cola's own.

  node dist/scripts/peft_check.js /tmp/cola-peft-check
  OPENBLAS_CORETYPE=SkylakeX python3 scripts/verify_peft.py /tmp/cola-peft-check
(needs torch, transformers and peft; not used by CI)
"""
import json
import sys
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


# eager attention: transformers 5.17's default (sdpa) skips Gemma 2's attention logit
# soft-capping (the gemma2_tiny base then differs from cola and from eager by 0.36).
def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor(ids)).logits.float().flatten()


def max_diff(a, b):
    return (a - torch.tensor(b)).abs().max().item()


def check(run: Path) -> bool:
    exp = json.loads((run / "expected.json").read_text())
    adapter_cfg = json.loads((run / "adapter" / "adapter_config.json").read_text())
    base_dir = adapter_cfg["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32, attn_implementation="eager").eval()
    d_base = max_diff(logits(base, exp["ids"]), exp["base"])
    peft = PeftModel.from_pretrained(base, str(run / "adapter")).eval()
    d_adapter = max_diff(logits(peft, exp["ids"]), exp["adapter"])
    merged = AutoModelForCausalLM.from_pretrained(str(run / "merged"), dtype=torch.float32, attn_implementation="eager").eval()
    d_merged = max_diff(logits(merged, exp["ids"]), exp["merged"])
    moved = max_diff(logits(merged, exp["ids"]), exp["base"])
    ok = max(d_base, d_adapter, d_merged) < 1e-4 and moved > 1e-3
    print(f"{run.name}: |base - cola| {d_base:.2e}  |PEFT(base, adapter) - cola| {d_adapter:.2e}  "
          f"|transformers(merged) - cola| {d_merged:.2e}  (adapter moved logits by {moved:.2e})  {'OK' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cola-peft-check")
    results = [check(run) for run in sorted(p for p in root.iterdir() if (p / "expected.json").exists())]
    sys.exit(0 if results and all(results) else 1)
