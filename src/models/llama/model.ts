import { denseLinearFrom, linearFrom, embeddingFrom, rmsNormFrom } from '../build.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Linear, LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { RMSNorm } from '../../nn/norm.js';
import { attention } from '../../tensor/ops/attention.js';
import { checkpoint } from '../../tensor/ops/checkpoint.js';
import { mul } from '../../tensor/ops/elementwise.js';
import { rope, ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import { permute, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import type { WeightSource } from '../weightSource.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { LlamaConfig } from './config.js';

/** Positions [T] starting at `start`. */
function positionsFrom(start: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => start + i);
}

class LlamaAttention extends Module {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  /** Qwen3: RMSNorm over head_dim of each query and key head, before RoPE. */
  q_norm: RMSNorm | null;
  k_norm: RMSNorm | null;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: LlamaConfig,
    private readonly _layer: number,
    private readonly _rope: RopeTable,
  ) {
    super();
    const { hidden_size: d, num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd, attention_bias: bias } = _cfg;
    this.q_proj = linearFrom(src, `${prefix}.q_proj`, hq * hd, d, bias);
    this.k_proj = linearFrom(src, `${prefix}.k_proj`, hkv * hd, d, bias);
    this.v_proj = linearFrom(src, `${prefix}.v_proj`, hkv * hd, d, bias);
    this.o_proj = linearFrom(src, `${prefix}.o_proj`, d, hq * hd, false);
    this.q_norm = _cfg.qk_norm ? rmsNormFrom(src, `${prefix}.q_norm`, hd, _cfg.rms_norm_eps) : null;
    this.k_norm = _cfg.qk_norm ? rmsNormFrom(src, `${prefix}.k_norm`, hd, _cfg.rms_norm_eps) : null;
  }

  /** residual + self-attention(x); o_proj adds the residual. */
  forward(x: Tensor, residual: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const [B, T] = x.shape as [number, number, number]; // x: (B, T, d)
    const { num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd } = this._cfg;
    let q = reshape(this.q_proj.forward(x), [B, T, hq, hd]); // (B, T, hq, hd)
    let k = reshape(this.k_proj.forward(x), [B, T, hkv, hd]); // (B, T, hkv, hd)
    if (this.q_norm && this.k_norm) [q, k] = [this.q_norm.forward(q), this.k_norm.forward(k)];
    q = rope(q, positions, this._rope, 'halves');
    k = rope(k, positions, this._rope, 'halves');
    const v = reshape(this.v_proj.forward(x), [B, T, hkv, hd]); // (B, T, hkv, hd)
    let kh = permute(k, [0, 2, 1, 3]); // (B, hkv, T, hd)
    let vh = permute(v, [0, 2, 1, 3]); // (B, hkv, T, hd)
    if (cache) [kh, vh] = cache.update(this._layer, kh, vh);
    const window = this._cfg.sliding_window ?? undefined;
    const o = attention(permute(q, [0, 2, 1, 3]), kh, vh, { causal: true, keyStart, ...(window ? { window } : {}) }); // (B, hq, T, hd)
    return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, hq * hd]), { residual });
  }
}

class LlamaMLP extends Module {
  gate_proj: LinearLike;
  up_proj: LinearLike;
  down_proj: LinearLike;

  constructor(src: WeightSource, prefix: string, cfg: LlamaConfig) {
    super();
    const { hidden_size: d, intermediate_size: f, mlp_bias: bias } = cfg;
    this.gate_proj = linearFrom(src, `${prefix}.gate_proj`, f, d, bias);
    this.up_proj = linearFrom(src, `${prefix}.up_proj`, f, d, bias);
    this.down_proj = linearFrom(src, `${prefix}.down_proj`, d, f, bias);
  }

  /** residual + mlp(x); down_proj adds the residual. */
  forward(x: Tensor, residual: Tensor): Tensor {
    const gated = mul(this.gate_proj.forward(x, { activation: 'silu' }), this.up_proj.forward(x)); // (B, T, f)
    return this.down_proj.forward(gated, { residual });
  }
}

class LlamaDecoderLayer extends Module {
  self_attn: LlamaAttention;
  mlp: LlamaMLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(src: WeightSource, prefix: string, cfg: LlamaConfig, layer: number, table: RopeTable) {
    super();
    this.self_attn = new LlamaAttention(src, `${prefix}.self_attn`, cfg, layer, table);
    this.mlp = new LlamaMLP(src, `${prefix}.mlp`, cfg);
    this.input_layernorm = rmsNormFrom(src, `${prefix}.input_layernorm`, cfg.hidden_size, cfg.rms_norm_eps);
    this.post_attention_layernorm = rmsNormFrom(src, `${prefix}.post_attention_layernorm`, cfg.hidden_size, cfg.rms_norm_eps);
  }

  forward(h: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    h = this.self_attn.forward(this.input_layernorm.forward(h), h, positions, cache, keyStart);
    return this.mlp.forward(this.post_attention_layernorm.forward(h), h);
  }
}

class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: LlamaDecoderLayer[];
  norm: RMSNorm;

  constructor(src: WeightSource, cfg: LlamaConfig) {
    super();
    const invFreq = ropeInvFreq(cfg.head_dim, { theta: cfg.rope_theta, scaling: cfg.rope_scaling, partialRotaryFactor: 1 });
    const table = ropeTable(src.backend, cfg.head_dim, cfg.max_position_embeddings, cfg.rope_theta, invFreq);
    this.embed_tokens = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new LlamaDecoderLayer(src, `model.layers.${i}`, cfg, i, table));
    this.norm = rmsNormFrom(src, 'model.norm', cfg.hidden_size, cfg.rms_norm_eps);
  }
}

/** Llama 2/3, TinyLlama, SmolLM/SmolLM2, Mistral (sliding window included), Qwen2, Qwen3:
 * HF LlamaForCausalLM (and Qwen3ForCausalLM's q/k norms). */
export class LlamaForCausalLM extends CausalLM {
  model: LlamaModel;
  lm_head: Linear | null;
  readonly dims: ModelDims;
  /** Recompute each decoder layer's activations in backward, one sequence at a time,
   * instead of keeping them (HF's gradient_checkpointing_enable; needs LoRA dropout 0):
   * what lets a 7B-shaped step fit a 16 GB machine (issue 17). */
  gradientCheckpointing = false;

  constructor(
    src: WeightSource,
    private readonly _cfg: LlamaConfig,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.model = new LlamaModel(src, _cfg);
    // Tied models may still ship lm_head.weight; untied ones must.
    this.lm_head = _cfg.tie_word_embeddings ? null : denseLinearFrom(src, 'lm_head', _cfg.vocab_size, _cfg.hidden_size, false);
    this.dims = {
      modelType: _cfg.model_type,
      vocabSize: _cfg.vocab_size,
      hiddenSize: _cfg.hidden_size,
      numLayers: _cfg.num_hidden_layers,
      maxPositions: _cfg.max_position_embeddings,
      bosTokenId: _cfg.bos_token_id,
      eosTokenId: _cfg.eos_token_id,
    };
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const [B, T] = ids.shape as [number, number];
    checkNoCache(packed, cache);
    const keyStart = packed ? packedKeyStart(packed, B, T, this._cfg.max_position_embeddings) : undefined;
    const positions = packed ?? positionsFrom(cache?.length ?? 0, T);
    let h = this.model.embed_tokens.forward(ids); // (B, T, d)
    if (!this.gradientCheckpointing || cache) for (const layer of this.model.layers) h = layer.forward(h, positions, cache, keyStart);
    else {
      // packed rows: keyStart and positions span the whole batch, so it is not sliced
      const sliceItems = keyStart ? B : 1;
      for (const layer of this.model.layers) {
        const params = layer.trainableParameters().map(([, t]) => t);
        h = checkpoint((x) => layer.forward(x, positions, undefined, keyStart), h, params, { sliceItems });
      }
    }
    return this.model.norm.forward(h);
  }

  override enableGradientCheckpointing(): void {
    this.gradientCheckpointing = true;
  }

  lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }
}
