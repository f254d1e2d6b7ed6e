#!/usr/bin/env python3
"""Writes test/fixtures/models/<name>/{config.json, model.safetensors, expected.json}:
tiny random Llama, OPT and GPT-2 models and the logits of their reference forward
pass, so test/models/parity.test.ts can check our models without Python.

transformers is not a dependency: the forward passes below are written from the
published architectures (HF modeling_llama.py, modeling_opt.py, modeling_gpt2.py)
in float64 on the float32 weights that are stored.

Run: /usr/bin/python3 scripts/make_parity_fixtures.py   (torch only)
"""
import json
import math
import os
import struct

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'models')
BATCH, SEQ = 2, 5


# ---------- files ----------

def write_safetensors(path, tensors):
    """8-byte little-endian header length, JSON header, raw little-endian data."""
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - len(text) % 8) % 8)  # keeps the data 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text.encode('utf-8'))
        for b in blobs:
            f.write(b)


def write_fixture(name, config, tensors, forward, note):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    ids = torch.randint(0, config['vocab_size'], (BATCH, SEQ), generator=gen)
    w = {k: v.to(torch.float64) for k, v in tensors.items()}
    logits = forward(config, w, ids)  # (B, T, V)
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    write_safetensors(os.path.join(folder, 'model.safetensors'), tensors)
    expected = {
        'note': note,
        'input_ids': ids.tolist(),
        'logits_shape': list(logits.shape),
        'logits': [float('%.7g' % x) for x in logits.reshape(-1).tolist()],
    }
    with open(os.path.join(folder, 'expected.json'), 'w') as f:
        json.dump(expected, f)
        f.write('\n')
    print(f'{name}: {len(tensors)} tensors, logits std {logits.std().item():.3f}')


class Init:
    """Seeded weights scaled so activations stay O(1): random-but-peaked attention
    and logits of a few units make the comparison discriminating."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.tensors = {}

    def randn(self, shape, std):
        return torch.randn(*shape, generator=self.gen, dtype=torch.float32) * std

    def matrix(self, name, out_f, in_f):  # nn.Linear layout [out, in]
        self.tensors[name] = self.randn((out_f, in_f), 1 / math.sqrt(in_f))

    def conv1d(self, name, in_f, out_f):  # GPT-2 Conv1D layout [in, out]
        self.tensors[name] = self.randn((in_f, out_f), 1 / math.sqrt(in_f))

    def bias(self, name, n):
        self.tensors[name] = self.randn((n,), 0.1)

    def norm(self, name, n, bias):
        self.tensors[name + '.weight'] = 1 + self.randn((n,), 0.1)
        if bias:
            self.bias(name + '.bias', n)

    def embedding(self, name, rows, dim, std=0.3):
        self.tensors[name] = self.randn((rows, dim), std)


# ---------- shared math (float64) ----------

def linear(x, w, prefix, bias=True):
    y = x @ w[prefix + '.weight'].T
    return y + w[prefix + '.bias'] if bias else y


def layer_norm(x, w, prefix, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], w[prefix + '.weight'], w[prefix + '.bias'], eps)


def causal_attention(q, k, v, scale):
    """q (B, Hq, T, D), k/v (B, Hkv, T, D); kv heads repeated for grouped queries."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    scores = (q @ k.transpose(-1, -2)) * scale  # (B, Hq, T, T)
    t = q.shape[2]
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float('-inf'))
    return scores.softmax(-1) @ v  # (B, Hq, T, D)


def heads(x, n, d):  # (B, T, n*d) -> (B, n, T, d)
    b, t, _ = x.shape
    return x.view(b, t, n, d).transpose(1, 2)


def merge(x):  # (B, H, T, D) -> (B, T, H*D)
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def gelu_tanh(x):  # gelu_new (GPT-2)
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


# ---------- Llama ----------

def llama_inv_freq(cfg, hd):
    # float32 as HF computes it
    inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    s = cfg.get('rope_scaling')
    if not s:
        return inv
    # transformers' _compute_llama3_parameters
    low_wavelen = s['original_max_position_embeddings'] / s['low_freq_factor']
    high_wavelen = s['original_max_position_embeddings'] / s['high_freq_factor']
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / s['factor'], inv)
    smooth = (s['original_max_position_embeddings'] / wavelen - s['low_freq_factor']) / (s['high_freq_factor'] - s['low_freq_factor'])
    smoothed = (1 - smooth) * inv_l / s['factor'] + smooth * inv_l
    is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(is_medium, smoothed, inv_l)


def llama_rope(x, cos, sin):  # x (B, H, T, D); rotate_half pairs i with i + D/2
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def llama_forward(cfg, w, ids):
    hq, hkv = cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd = cfg.get('head_dim', cfg['hidden_size'] // hq)
    eps = cfg['rms_norm_eps']
    t = ids.shape[1]
    angles = torch.arange(t, dtype=torch.float32)[:, None] * llama_inv_freq(cfg, hd)[None, :]  # (T, hd/2) in f32
    emb = torch.cat([angles, angles], dim=-1).to(torch.float64)
    cos, sin = emb.cos(), emb.sin()
    h = w['model.embed_tokens.weight'][ids]  # (B, T, d)
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}'
        x = rms_norm(h, w[p + '.input_layernorm.weight'], eps)
        q = llama_rope(heads(linear(x, w, p + '.self_attn.q_proj', False), hq, hd), cos, sin)
        k = llama_rope(heads(linear(x, w, p + '.self_attn.k_proj', False), hkv, hd), cos, sin)
        v = heads(linear(x, w, p + '.self_attn.v_proj', False), hkv, hd)
        h = h + linear(merge(causal_attention(q, k, v, hd ** -0.5)), w, p + '.self_attn.o_proj', False)
        x = rms_norm(h, w[p + '.post_attention_layernorm.weight'], eps)
        gate = torch.nn.functional.silu(linear(x, w, p + '.mlp.gate_proj', False))
        h = h + linear(gate * linear(x, w, p + '.mlp.up_proj', False), w, p + '.mlp.down_proj', False)
    h = rms_norm(h, w['model.norm.weight'], eps)
    head = w['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else w['lm_head.weight']
    return h @ head.T


def llama_weights(cfg, seed):
    init = Init(seed)
    d, v, f = cfg['hidden_size'], cfg['vocab_size'], cfg['intermediate_size']
    hq, hkv = cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd = cfg.get('head_dim', d // hq)
    init.embedding('model.embed_tokens.weight', v, d)
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}'
        init.matrix(p + '.self_attn.q_proj.weight', hq * hd, d)
        init.matrix(p + '.self_attn.k_proj.weight', hkv * hd, d)
        init.matrix(p + '.self_attn.v_proj.weight', hkv * hd, d)
        init.matrix(p + '.self_attn.o_proj.weight', d, hq * hd)
        init.matrix(p + '.mlp.gate_proj.weight', f, d)
        init.matrix(p + '.mlp.up_proj.weight', f, d)
        init.matrix(p + '.mlp.down_proj.weight', d, f)
        init.norm(p + '.input_layernorm', d, False)
        init.norm(p + '.post_attention_layernorm', d, False)
    init.norm('model.norm', d, False)
    if not cfg['tie_word_embeddings']:
        init.embedding('lm_head.weight', v, d)
    return init.tensors


# ---------- OPT ----------

OPT_POSITION_OFFSET = 2  # OPTLearnedPositionalEmbedding: fairseq reserved rows 0 and 1


def opt_forward(cfg, w, ids, prefix):
    d, hq = cfg['hidden_size'], cfg['num_attention_heads']
    hd = d // hq
    pre = cfg['do_layer_norm_before']
    act = {'relu': torch.relu, 'gelu': torch.nn.functional.gelu}[cfg['activation_function']]
    p0 = prefix + 'decoder'
    t = ids.shape[1]
    x = w[p0 + '.embed_tokens.weight'][ids]  # (B, T, word_embed_proj_dim)
    if cfg['word_embed_proj_dim'] != d:
        x = linear(x, w, p0 + '.project_in', False)
    h = x + w[p0 + '.embed_positions.weight'][torch.arange(t) + OPT_POSITION_OFFSET]  # (B, T, d)
    for i in range(cfg['num_hidden_layers']):
        p = f'{p0}.layers.{i}'
        x = layer_norm(h, w, p + '.self_attn_layer_norm', 1e-5) if pre else h
        q = heads(linear(x, w, p + '.self_attn.q_proj') * hd ** -0.5, hq, hd)  # HF scales q, then no scale
        k = heads(linear(x, w, p + '.self_attn.k_proj'), hq, hd)
        v = heads(linear(x, w, p + '.self_attn.v_proj'), hq, hd)
        h = h + linear(merge(causal_attention(q, k, v, 1.0)), w, p + '.self_attn.out_proj')
        if not pre:
            h = layer_norm(h, w, p + '.self_attn_layer_norm', 1e-5)
        x = layer_norm(h, w, p + '.final_layer_norm', 1e-5) if pre else h
        h = h + linear(act(linear(x, w, p + '.fc1')), w, p + '.fc2')
        if not pre:
            h = layer_norm(h, w, p + '.final_layer_norm', 1e-5)
    if pre and not cfg.get('_remove_final_layer_norm', False):
        h = layer_norm(h, w, p0 + '.final_layer_norm', 1e-5)
    if cfg['word_embed_proj_dim'] != d:
        h = linear(h, w, p0 + '.project_out', False)
    return h @ w[p0 + '.embed_tokens.weight'].T  # lm_head tied to embed_tokens


def opt_weights(cfg, seed, prefix, with_lm_head):
    init = Init(seed)
    d, v, f, e = cfg['hidden_size'], cfg['vocab_size'], cfg['ffn_dim'], cfg['word_embed_proj_dim']
    p0 = prefix + 'decoder'
    init.embedding(p0 + '.embed_tokens.weight', v, e)
    init.embedding(p0 + '.embed_positions.weight', cfg['max_position_embeddings'] + OPT_POSITION_OFFSET, d)
    if e != d:
        init.matrix(p0 + '.project_out.weight', e, d)
        init.matrix(p0 + '.project_in.weight', d, e)
    for i in range(cfg['num_hidden_layers']):
        p = f'{p0}.layers.{i}'
        for name in ('k_proj', 'v_proj', 'q_proj', 'out_proj'):
            init.matrix(f'{p}.self_attn.{name}.weight', d, d)
            init.bias(f'{p}.self_attn.{name}.bias', d)
        init.norm(p + '.self_attn_layer_norm', d, True)
        init.matrix(p + '.fc1.weight', f, d)
        init.bias(p + '.fc1.bias', f)
        init.matrix(p + '.fc2.weight', d, f)
        init.bias(p + '.fc2.bias', d)
        init.norm(p + '.final_layer_norm', d, True)
    if cfg['do_layer_norm_before']:
        init.norm(p0 + '.final_layer_norm', d, True)
    if with_lm_head:  # a tied copy, as save_pretrained writes it; the loader ignores it
        init.tensors['lm_head.weight'] = init.tensors[p0 + '.embed_tokens.weight'].clone()
    return init.tensors


# ---------- GPT-2 ----------

def gpt2_forward(cfg, w, ids):
    d, hq = cfg['n_embd'], cfg['n_head']
    hd = d // hq
    eps = cfg['layer_norm_epsilon']
    t = ids.shape[1]

    def conv1d(x, prefix):  # Conv1D: x @ W + b with W [in, out]
        return x @ w[prefix + '.weight'] + w[prefix + '.bias']

    h = w['wte.weight'][ids] + w['wpe.weight'][torch.arange(t)]  # (B, T, d)
    for i in range(cfg['n_layer']):
        p = f'h.{i}'
        qkv = conv1d(layer_norm(h, w, p + '.ln_1', eps), p + '.attn.c_attn')  # (B, T, 3d)
        q, k, v = (heads(z, hq, hd) for z in qkv.split(d, dim=-1))
        h = h + conv1d(merge(causal_attention(q, k, v, hd ** -0.5)), p + '.attn.c_proj')
        x = layer_norm(h, w, p + '.ln_2', eps)
        h = h + conv1d(gelu_tanh(conv1d(x, p + '.mlp.c_fc')), p + '.mlp.c_proj')
    h = layer_norm(h, w, 'ln_f', eps)
    return h @ w['wte.weight'].T  # tied


def gpt2_weights(cfg, seed):
    init = Init(seed)
    d, v, f = cfg['n_embd'], cfg['vocab_size'], 4 * cfg['n_embd']
    init.embedding('wte.weight', v, d)
    init.embedding('wpe.weight', cfg['n_positions'], d, 0.1)
    n = cfg['n_positions']
    for i in range(cfg['n_layer']):
        p = f'h.{i}'
        init.norm(p + '.ln_1', d, True)
        # the causal-mask buffer older checkpoints carry; the loader ignores it
        init.tensors[p + '.attn.bias'] = torch.ones(n, n).tril().view(1, 1, n, n)
        init.conv1d(p + '.attn.c_attn.weight', d, 3 * d)
        init.bias(p + '.attn.c_attn.bias', 3 * d)
        init.conv1d(p + '.attn.c_proj.weight', d, d)
        init.bias(p + '.attn.c_proj.bias', d)
        init.norm(p + '.ln_2', d, True)
        init.conv1d(p + '.mlp.c_fc.weight', d, f)
        init.bias(p + '.mlp.c_fc.bias', f)
        init.conv1d(p + '.mlp.c_proj.weight', f, d)
        init.bias(p + '.mlp.c_proj.bias', d)
    init.norm('ln_f', d, True)
    return init.tensors


# ---------- fixtures ----------

def main():
    llama = {
        'model_type': 'llama', 'architectures': ['LlamaForCausalLM'], 'vocab_size': 64, 'hidden_size': 16,
        'intermediate_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'num_key_value_heads': 2,
        'max_position_embeddings': 32, 'rms_norm_eps': 1e-5, 'rope_theta': 10000.0, 'tie_word_embeddings': True,
        'hidden_act': 'silu', 'bos_token_id': 1, 'eos_token_id': 2,
    }
    write_fixture('llama_tiny', llama, llama_weights(llama, 1), llama_forward, 'llama, GQA 4/2, tied embeddings')

    # theta 100 and head_dim 8 give one unscaled, two smoothed and one scaled frequency
    llama3 = dict(llama, hidden_size=16, head_dim=8, rope_theta=100.0, tie_word_embeddings=False, rope_scaling={
        'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
        'original_max_position_embeddings': 64,
    })
    write_fixture('llama3_tiny', llama3, llama_weights(llama3, 2), llama_forward,
                  'llama3 rope scaling, head_dim 8 != hidden/heads, untied lm_head')

    opt_pre = {
        'model_type': 'opt', 'architectures': ['OPTForCausalLM'], 'vocab_size': 64, 'hidden_size': 24,
        'word_embed_proj_dim': 16, 'ffn_dim': 48, 'num_hidden_layers': 2, 'num_attention_heads': 4,
        'max_position_embeddings': 16, 'do_layer_norm_before': True, '_remove_final_layer_norm': False,
        'enable_bias': True, 'activation_function': 'relu', 'bos_token_id': 2, 'eos_token_id': 2, 'pad_token_id': 1,
    }
    write_fixture('opt_tiny', opt_pre, opt_weights(opt_pre, 3, 'model.', True),
                  lambda c, w, ids: opt_forward(c, w, ids, 'model.'),
                  'opt pre-LN, project_in/out (word_embed_proj_dim 16 != hidden 24), tied lm_head.weight in the file')

    opt_post = dict(opt_pre, hidden_size=16, word_embed_proj_dim=16, do_layer_norm_before=False)
    write_fixture('opt_postln_tiny', opt_post, opt_weights(opt_post, 4, '', False),
                  lambda c, w, ids: opt_forward(c, w, ids, ''),
                  'opt post-LN (as OPT-350m), keys without the model. prefix (saved from OPTModel)')

    gpt2 = {
        'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'vocab_size': 64, 'n_embd': 16,
        'n_layer': 2, 'n_head': 4, 'n_positions': 16, 'n_inner': None, 'activation_function': 'gelu_new',
        'layer_norm_epsilon': 1e-5, 'bos_token_id': 63, 'eos_token_id': 63,
    }
    write_fixture('gpt2_tiny', gpt2, gpt2_weights(gpt2, 5), gpt2_forward,
                  'gpt2, keys without the transformer. prefix (as on the hub), attn.bias buffers in the file')


if __name__ == '__main__':
    main()
