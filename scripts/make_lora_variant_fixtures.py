"""Writes test/fixtures/lora_variants/ from PEFT itself (development only; CI reads the
committed files and needs no Python):

  dora/                 a DoRA adapter (PEFT's save_pretrained) on the llama_tiny fixture
                        with non-trivial A, B and magnitude, + expected.json (PEFT's logits
                        unmerged and after merge_and_unload)
  weight_init.safetensors
                        per init ("pissa", "olora") and targeted module of llama_tiny:
                        PEFT's residual base weight, lora_A, lora_B and s * B @ A

  /tmp/peftenv/bin/python scripts/make_lora_variant_fixtures.py
(torch 2.13.0+cpu, transformers 5.17.0, peft 0.21.0)
"""
import json
import os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
BASE = os.path.join(ROOT, "models", "llama_tiny")
OUT = os.path.join(ROOT, "lora_variants")
IDS = [[1, 5, 7, 9, 2, 4, 6, 8], [3, 11, 13, 17, 19, 23, 29, 31]]
TARGETS = ["q_proj", "v_proj"]


def base():
    return AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()


def logits(model):
    with torch.no_grad():
        return model(torch.tensor(IDS)).logits.flatten().tolist()


def dora():
    torch.manual_seed(0)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, use_dora=True, lora_dropout=0.0)
    model = get_peft_model(base(), cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                p.copy_(torch.randn_like(p) * 0.3)
            elif "lora_magnitude_vector" in name:
                p.mul_(1 + 0.2 * torch.randn_like(p))
    folder = os.path.join(OUT, "dora")
    model.save_pretrained(folder)
    unmerged = logits(model)
    merged = logits(model.merge_and_unload())
    plain = logits(base())
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump({"note": "PEFT 0.21.0 logits of llama_tiny + this DoRA adapter", "input_ids": IDS,
                   "base": plain, "unmerged": unmerged, "merged": merged}, f)
    # base_model_name_or_path is an absolute path on the machine that wrote it
    cfg_file = os.path.join(folder, "adapter_config.json")
    c = json.load(open(cfg_file))
    c["base_model_name_or_path"] = "test/fixtures/models/llama_tiny"
    json.dump(c, open(cfg_file, "w"), indent=2)
    readme = os.path.join(folder, "README.md")
    if os.path.exists(readme):
        os.remove(readme)


def weight_init():
    out = {}
    for init in ["pissa", "olora"]:
        model = get_peft_model(base(), LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, init_lora_weights=init))
        for name, module in model.named_modules():
            if not hasattr(module, "lora_A") or name.split(".")[-1] not in TARGETS:
                continue
            path = name.replace("base_model.model.", "")
            A = module.lora_A["default"].weight.detach()
            B = module.lora_B["default"].weight.detach()
            s = module.scaling["default"]
            out[f"{init}.{path}.residual"] = module.base_layer.weight.detach().clone()
            out[f"{init}.{path}.lora_A"] = A.clone()
            out[f"{init}.{path}.lora_B"] = B.clone()
            out[f"{init}.{path}.delta"] = (s * B @ A).clone()
    save_file(out, os.path.join(OUT, "weight_init.safetensors"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    dora()
    weight_init()
    print("wrote", OUT)
