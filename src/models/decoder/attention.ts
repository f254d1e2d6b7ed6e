/** Self-attention of the Llama-style decoders (llama, gemma, phi3): what follows the
 * projections is the same in every family (grouped-query heads, KV cache, fused
 * attention); what differs (projections, norms, scale, window, soft-capping) is the
 * family's, given as a spec. */
import { linearFrom } from '../build.js';
import type { LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { attention, type AttentionOptions } from '../../tensor/ops/attention.js';
import { ropeInPlace, type RopeTable } from '../../tensor/ops/rope.js';
import { permute, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KvCache } from '../kvCache.js';
import type { WeightSource } from '../weightSource.js';
import type { DecoderAttention, Norm } from './layer.js';

/** The head shape of a decoder (config.json spelling). */
export interface HeadDims {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
}

/** The attention knobs a family sets besides causal and keyStart. */
export type AttentionExtras = Omit<AttentionOptions, 'causal' | 'keyStart' | 'layout'>;

/** q (B, T, hq, hd), k and v (B, T, hkv, hd), RoPE applied -> (B, T, hq hd), causal
 * attention (keyStart: packed rows). Without a cache the op reads the heads in place
 * ('bthd', as OPT does): head-major copies of q, k, v and of the output cost 2·d + 2·kv
 * floats per token and layer, kept for backward (~2 GB at Llama-2-7B's shape per 1024
 * tokens). With one, heads first (the cache's layout) and the layer's cache extended. */
export function attendHeads(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  at: { layer: number; cache?: KvCache; keyStart?: Int32Array; extras: AttentionExtras },
): Tensor {
  const [B, T, hq, hd] = q.shape as [number, number, number, number];
  if (!at.cache) {
    const o = attention(q, k, v, { causal: true, layout: 'bthd', keyStart: at.keyStart, ...at.extras }); // (B, T, hq, hd)
    return reshape(o, [B, T, hq * hd]);
  }
  const [kh, vh] = at.cache.update(at.layer, permute(k, [0, 2, 1, 3]), permute(v, [0, 2, 1, 3])); // (B, hkv, T, hd)
  const o = attention(permute(q, [0, 2, 1, 3]), kh, vh, { causal: true, keyStart: at.keyStart, ...at.extras }); // (B, hq, T, hd)
  return reshape(permute(o, [0, 2, 1, 3]), [B, T, hq * hd]);
}

/** What a family with separate q/k/v projections chooses. */
export interface QkvAttentionSpec {
  dims: HeadDims;
  /** q/k/v biases (Qwen2, attention_bias) */
  qkvBias: boolean;
  /** o_proj bias (Gemma: attention_bias; Llama: never) */
  oBias: boolean;
  /** Qwen3, Gemma 3: the norm over head_dim of each query and key head, before RoPE */
  qkNorm: ((name: 'q_norm' | 'k_norm') => Norm) | null;
  extras: AttentionExtras;
}

/** HF LlamaAttention / Gemma2Attention / Gemma3Attention: q_proj, k_proj, v_proj, o_proj,
 * optional q_norm/k_norm (the checkpoint's names), rotate-halves RoPE. */
export class QkvAttention extends Module implements DecoderAttention {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  q_norm: Norm | null;
  k_norm: Norm | null;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _spec: QkvAttentionSpec,
    private readonly _layer: number,
    private readonly _rope: RopeTable,
  ) {
    super();
    const { hidden_size: d, num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd } = _spec.dims;
    this.q_proj = linearFrom(src, `${prefix}.q_proj`, hq * hd, d, _spec.qkvBias);
    this.k_proj = linearFrom(src, `${prefix}.k_proj`, hkv * hd, d, _spec.qkvBias);
    this.v_proj = linearFrom(src, `${prefix}.v_proj`, hkv * hd, d, _spec.qkvBias);
    this.o_proj = linearFrom(src, `${prefix}.o_proj`, d, hq * hd, _spec.oBias);
    this.q_norm = _spec.qkNorm ? _spec.qkNorm('q_norm') : null;
    this.k_norm = _spec.qkNorm ? _spec.qkNorm('k_norm') : null;
  }

  forward(x: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array, residual?: Tensor): Tensor {
    const [B, T] = x.shape as [number, number, number]; // x: (B, T, d)
    const { num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd } = this._spec.dims;
    let q = reshape(this.q_proj.forward(x), [B, T, hq, hd]); // (B, T, hq, hd)
    let k = reshape(this.k_proj.forward(x), [B, T, hkv, hd]); // (B, T, hkv, hd)
    if (this.q_norm && this.k_norm) [q, k] = [this.q_norm.forward(q), this.k_norm.forward(k)];
    // in place: nothing reads the projections' (or the norms') outputs again
    q = ropeInPlace(q, positions, this._rope, 'halves');
    k = ropeInPlace(k, positions, this._rope, 'halves');
    const v = reshape(this.v_proj.forward(x), [B, T, hkv, hd]); // (B, T, hkv, hd)
    const o = attendHeads(q, k, v, { layer: this._layer, cache, keyStart, extras: this._spec.extras }); // (B, T, hq hd)
    return this.o_proj.forward(o, { residual });
  }
}
