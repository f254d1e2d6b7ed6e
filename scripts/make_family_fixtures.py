#!/usr/bin/env python3
"""Writes test/fixtures/models/<name>/{config.json, model.safetensors, expected.json}
for the families added in issue 18: Qwen3, Gemma 2, Gemma 3 (text), Phi-3 and a
SmolLM2-shaped Llama (tied embeddings), in the format of make_parity_fixtures.py.

Unlike make_parity_fixtures.py (plain PyTorch written after the HF modelling code),
the expected logits here come from transformers' own modelling classes
(Qwen3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM,
LlamaForCausalLM, eager attention) run in float64 on the stored float32 weights.
Each config.json is written in the hub's spelling (rope_theta, rope_scaling,
rope_local_base_freq), as the released models ship it; config.transformers5.json
holds the same config as transformers 5 saves it (rope_parameters, layer_types). The tiny configs make every
feature bite: sliding windows shorter than the sequence, soft-caps near the logits'
size, head_dim != hidden / heads, query_pre_attn_scalar != head_dim, linear RoPE
scaling on Gemma 3's global layer, partial RoPE on Phi-3.

Run (CI never does; the fixtures are committed):
  python3 -m venv /tmp/peftenv && /tmp/peftenv/bin/pip install torch transformers==5.17.0 peft safetensors
  OPENBLAS_CORETYPE=SkylakeX /tmp/peftenv/bin/python scripts/make_family_fixtures.py
"""
import json
import math
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as base  # noqa: E402  (write_fixture, the safetensors writer)

base.SEQ = 8  # longer than the sliding windows below

HF = {
    'qwen3': (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    'gemma2': (transformers.Gemma2Config, transformers.Gemma2ForCausalLM),
    'gemma3_text': (transformers.Gemma3TextConfig, transformers.Gemma3ForCausalLM),
    'phi3': (transformers.Phi3Config, transformers.Phi3ForCausalLM),
    'llama': (transformers.LlamaConfig, transformers.LlamaForCausalLM),
}
BUFFERS = ('rotary_emb', 'embed_scale')


def hf_model(cfg):
    config_cls, model_cls = HF[cfg['model_type']]
    conf = config_cls(**{k: v for k, v in cfg.items() if k != 'model_type'})
    conf._attn_implementation = 'eager'  # soft-capping and windows as the reference writes them
    return model_cls(conf).eval()


def weights(cfg, seed):
    """Seeded weights for every stored tensor of the HF model, scaled as in
    make_parity_fixtures.Init: matrices 1/sqrt(in), embeddings 0.3, norms near 1
    (Gemma's zero-centred (1 + w) norms near 0)."""
    gen = torch.Generator().manual_seed(seed)
    gemma = cfg['model_type'].startswith('gemma')
    out = {}
    for name, t in hf_model(cfg).state_dict().items():
        if any(b in name for b in BUFFERS):
            continue
        if name == 'lm_head.weight' and cfg.get('tie_word_embeddings', False):
            continue  # tied: the hub files do not store it
        r = torch.randn(*t.shape, generator=gen, dtype=torch.float32)
        if name.endswith('norm.weight'):
            out[name] = r * 0.1 + (0.0 if gemma else 1.0)
        elif 'embed_tokens' in name or name == 'lm_head.weight':
            out[name] = r * 0.3
        else:
            out[name] = r / math.sqrt(t.shape[-1])
    return out


def hf_forward(cfg, w, ids):
    model = hf_model(cfg).double()
    missing, unexpected = model.load_state_dict(w, strict=False)
    assert not unexpected, unexpected
    assert all(any(b in k for b in BUFFERS) or k == 'lm_head.weight' for k in missing), missing
    if cfg.get('tie_word_embeddings', False):
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    with torch.no_grad():
        return model(ids).logits  # (B, T, V) float64


def fixture(name, cfg, seed, note):
    base.write_fixture(name, cfg, weights(cfg, seed), hf_forward, note)
    # the same config as transformers 5 writes it (save_pretrained: rope_parameters,
    # layer_types), for the test that both spellings build the same model
    with open(os.path.join(base.ROOT, name, 'config.transformers5.json'), 'w') as f:
        json.dump(hf_model(cfg).config.to_diff_dict(), f, indent=2, sort_keys=True)
        f.write('\n')


def main():
    print('transformers', transformers.__version__, 'torch', torch.__version__)
    fixture('qwen3_tiny', {
        'model_type': 'qwen3', 'architectures': ['Qwen3ForCausalLM'], 'vocab_size': 48, 'hidden_size': 16,
        'intermediate_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'head_dim': 8, 'max_position_embeddings': 64, 'rms_norm_eps': 1e-6, 'rope_theta': 1000000.0,
        'tie_word_embeddings': False, 'hidden_act': 'silu', 'attention_bias': False, 'use_sliding_window': False,
        'sliding_window': None, 'bos_token_id': 1, 'eos_token_id': 2,
    }, 11, 'qwen3: q_norm/k_norm per head, head_dim 8 != hidden/heads, GQA 4/2, untied lm_head; transformers Qwen3ForCausalLM')

    fixture('gemma2_tiny', {
        'model_type': 'gemma2', 'architectures': ['Gemma2ForCausalLM'], 'vocab_size': 48, 'hidden_size': 16,
        'intermediate_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'head_dim': 8, 'max_position_embeddings': 64, 'rms_norm_eps': 1e-6, 'rope_theta': 10000.0,
        'hidden_act': 'gelu_pytorch_tanh', 'hidden_activation': 'gelu_pytorch_tanh', 'query_pre_attn_scalar': 12,
        'sliding_window': 3, 'attn_logit_softcapping': 2.0, 'final_logit_softcapping': 3.0,
        'tie_word_embeddings': True, 'bos_token_id': 2, 'eos_token_id': 1, 'pad_token_id': 0,
    }, 12, 'gemma2: (1+w) sandwich norms, GeGLU, sqrt(d) embedding scale, window 3 on layer 0, '
           'attention softcap 2, final softcap 3, query_pre_attn_scalar 12; transformers Gemma2ForCausalLM')

    fixture('gemma3_tiny', {
        'model_type': 'gemma3_text', 'architectures': ['Gemma3ForCausalLM'], 'vocab_size': 48, 'hidden_size': 16,
        'intermediate_size': 32, 'num_hidden_layers': 6, 'num_attention_heads': 2, 'num_key_value_heads': 1,
        'head_dim': 8, 'max_position_embeddings': 64, 'rms_norm_eps': 1e-6, 'rope_theta': 1000000.0,
        'rope_local_base_freq': 10000.0, 'rope_scaling': {'rope_type': 'linear', 'factor': 8.0},
        'hidden_activation': 'gelu_pytorch_tanh', 'query_pre_attn_scalar': 8, 'sliding_window': 3,
        'sliding_window_pattern': 6, 'attn_logit_softcapping': None, 'final_logit_softcapping': None,
        'tie_word_embeddings': True, 'bos_token_id': 2, 'eos_token_id': 1, 'pad_token_id': 0,
    }, 13, 'gemma3_text: 5 local (window 3, base 1e4) : 1 global (base 1e6, linear x8) layers, '
           'q_norm/k_norm, (1+w) norms; transformers Gemma3ForCausalLM')

    fixture('phi3_tiny', {
        'model_type': 'phi3', 'architectures': ['Phi3ForCausalLM'], 'vocab_size': 48, 'hidden_size': 16,
        'intermediate_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'max_position_embeddings': 64, 'original_max_position_embeddings': 64, 'rms_norm_eps': 1e-5,
        'rope_theta': 10000.0, 'rope_scaling': None, 'partial_rotary_factor': 0.5, 'head_dim': 8, 'sliding_window': 4,
        'hidden_act': 'silu', 'tie_word_embeddings': False, 'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': 2,
    }, 14, 'phi3: fused qkv_proj and gate_up_proj, GQA 4/2, sliding window 4, partial rotary 0.5; '
           'transformers Phi3ForCausalLM')

    # SmolLM2-135M's config.json with the sizes shrunk (same keys, theta, eps, tying)
    fixture('smollm2_tiny', {
        'model_type': 'llama', 'architectures': ['LlamaForCausalLM'], 'attention_bias': False, 'attention_dropout': 0.0,
        'bos_token_id': 0, 'eos_token_id': 0, 'hidden_act': 'silu', 'hidden_size': 24, 'initializer_range': 0.041666666666666664,
        'intermediate_size': 32, 'is_llama_config': True, 'max_position_embeddings': 64, 'mlp_bias': False,
        'num_attention_heads': 3, 'num_hidden_layers': 2, 'num_key_value_heads': 1, 'pretraining_tp': 1,
        'rms_norm_eps': 1e-5, 'rope_interleaved': False, 'rope_scaling': None, 'rope_theta': 100000,
        'tie_word_embeddings': True, 'use_cache': True, 'vocab_size': 48,
    }, 15, 'smollm2 (llama, tied embeddings, GQA 3/1, theta 1e5); transformers LlamaForCausalLM')


if __name__ == '__main__':
    main()
