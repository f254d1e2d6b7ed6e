/** The decoder layer of Llama and Phi-3 (pre-norm: x + attn(norm(x)), then + mlp(norm(x)),
 * each residual fused into the sub-layer's last projection), and the shapes of the
 * sub-layers every decoder family plugs in. Gemma's sandwich-norm layer is its own. */
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KvCache } from '../kvCache.js';

/** A norm over the last axis (RMSNorm, Gemma's (1 + w) RMSNorm). */
export type Norm = Module & { forward(x: Tensor): Tensor };

/** Self-attention of x (B, T, d) -> (B, T, d), plus `residual` when given. */
export interface DecoderAttention extends Module {
  forward(x: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array, residual?: Tensor): Tensor;
}

/** The feed-forward block (B, T, d) -> (B, T, d), plus `residual` when given. */
export interface DecoderMLP extends Module {
  forward(x: Tensor, residual?: Tensor): Tensor;
}

/** One layer of the stack: hidden states (B, T, d) -> (B, T, d). */
export interface DecoderLayer extends Module {
  forward(h: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor;
}

/** HF LlamaDecoderLayer / Phi3DecoderLayer (the checkpoint's names). */
export class PreNormDecoderLayer<A extends DecoderAttention, M extends DecoderMLP> extends Module implements DecoderLayer {
  constructor(
    public self_attn: A,
    public mlp: M,
    public input_layernorm: Norm,
    public post_attention_layernorm: Norm,
  ) {
    super();
  }

  forward(h: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    h = this.self_attn.forward(this.input_layernorm.forward(h), positions, cache, keyStart, h);
    return this.mlp.forward(this.post_attention_layernorm.forward(h), h);
  }
}
