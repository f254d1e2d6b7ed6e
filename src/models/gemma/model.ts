import { denseLinearFrom, embeddingFrom, linearFrom } from '../build.js';
import { roundToBf16 } from '../../backend/reference/bf16.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Linear, LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { attention } from '../../tensor/ops/attention.js';
import { add, mul, scale } from '../../tensor/ops/elementwise.js';
import { rope, ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import { permute, reshape } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { WeightSource } from '../weightSource.js';
import type { GemmaConfig, GemmaLayerType } from './config.js';
import { gemmaNormFrom, type GemmaRMSNorm } from './norm.js';

class GemmaAttention extends Module {
  q_proj: LinearLike;
  k_proj: LinearLike;
  v_proj: LinearLike;
  o_proj: LinearLike;
  /** Gemma 3: (1 + w) RMSNorm over head_dim of each query and key head, before RoPE. */
  q_norm: GemmaRMSNorm | null;
  k_norm: GemmaRMSNorm | null;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: GemmaConfig,
    private readonly _layer: number,
    private readonly _rope: RopeTable,
  ) {
    super();
    const { hidden_size: d, num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd, attention_bias: bias } = _cfg;
    this.q_proj = linearFrom(src, `${prefix}.q_proj`, hq * hd, d, bias);
    this.k_proj = linearFrom(src, `${prefix}.k_proj`, hkv * hd, d, bias);
    this.v_proj = linearFrom(src, `${prefix}.v_proj`, hkv * hd, d, bias);
    this.o_proj = linearFrom(src, `${prefix}.o_proj`, d, hq * hd, bias);
    this.q_norm = _cfg.qk_norm ? gemmaNormFrom(src, `${prefix}.q_norm`, hd, _cfg.rms_norm_eps) : null;
    this.k_norm = _cfg.qk_norm ? gemmaNormFrom(src, `${prefix}.k_norm`, hd, _cfg.rms_norm_eps) : null;
  }

  forward(x: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const [B, T] = x.shape as [number, number, number]; // x: (B, T, d)
    const cfg = this._cfg;
    const { num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd } = cfg;
    let q = reshape(this.q_proj.forward(x), [B, T, hq, hd]); // (B, T, hq, hd)
    let k = reshape(this.k_proj.forward(x), [B, T, hkv, hd]); // (B, T, hkv, hd)
    if (this.q_norm && this.k_norm) [q, k] = [this.q_norm.forward(q), this.k_norm.forward(k)];
    q = rope(q, positions, this._rope, 'halves');
    k = rope(k, positions, this._rope, 'halves');
    const v = reshape(this.v_proj.forward(x), [B, T, hkv, hd]);
    let kh = permute(k, [0, 2, 1, 3]); // (B, hkv, T, hd)
    let vh = permute(v, [0, 2, 1, 3]); // (B, hkv, T, hd)
    if (cache) [kh, vh] = cache.update(this._layer, kh, vh);
    const o = attention(permute(q, [0, 2, 1, 3]), kh, vh, {
      causal: true,
      keyStart,
      scale: 1 / Math.sqrt(cfg.query_pre_attn_scalar),
      ...(cfg.layer_types[this._layer] === 'sliding_attention' ? { window: cfg.sliding_window } : {}),
      ...(cfg.attn_logit_softcapping !== null ? { softcap: cfg.attn_logit_softcapping } : {}),
    }); // (B, hq, T, hd)
    return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, hq * hd]));
  }
}

class GemmaMLP extends Module {
  gate_proj: LinearLike;
  up_proj: LinearLike;
  down_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: GemmaConfig,
  ) {
    super();
    const { hidden_size: d, intermediate_size: f } = _cfg;
    this.gate_proj = linearFrom(src, `${prefix}.gate_proj`, f, d, false);
    this.up_proj = linearFrom(src, `${prefix}.up_proj`, f, d, false);
    this.down_proj = linearFrom(src, `${prefix}.down_proj`, d, f, false);
  }

  /** GeGLU: down(gelu_tanh(gate(x)) * up(x)). */
  forward(x: Tensor): Tensor {
    const gated = mul(this.gate_proj.forward(x, { activation: this._cfg.hidden_activation }), this.up_proj.forward(x)); // (B, T, f)
    return this.down_proj.forward(gated);
  }
}

/** Sandwich norms: each sub-layer's output is normalised before the residual add. */
class GemmaDecoderLayer extends Module {
  self_attn: GemmaAttention;
  mlp: GemmaMLP;
  input_layernorm: GemmaRMSNorm;
  post_attention_layernorm: GemmaRMSNorm;
  pre_feedforward_layernorm: GemmaRMSNorm;
  post_feedforward_layernorm: GemmaRMSNorm;

  constructor(src: WeightSource, prefix: string, cfg: GemmaConfig, layer: number, table: RopeTable) {
    super();
    const norm = (name: string) => gemmaNormFrom(src, `${prefix}.${name}`, cfg.hidden_size, cfg.rms_norm_eps);
    this.self_attn = new GemmaAttention(src, `${prefix}.self_attn`, cfg, layer, table);
    this.mlp = new GemmaMLP(src, `${prefix}.mlp`, cfg);
    this.input_layernorm = norm('input_layernorm');
    this.post_attention_layernorm = norm('post_attention_layernorm');
    this.pre_feedforward_layernorm = norm('pre_feedforward_layernorm');
    this.post_feedforward_layernorm = norm('post_feedforward_layernorm');
  }

  forward(h: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    h = add(h, this.post_attention_layernorm.forward(this.self_attn.forward(this.input_layernorm.forward(h), positions, cache, keyStart)));
    return add(h, this.post_feedforward_layernorm.forward(this.mlp.forward(this.pre_feedforward_layernorm.forward(h))));
  }
}

class GemmaModel extends Module {
  embed_tokens: Embedding;
  layers: GemmaDecoderLayer[];
  norm: GemmaRMSNorm;

  constructor(src: WeightSource, cfg: GemmaConfig) {
    super();
    const tables = new Map<GemmaLayerType, RopeTable>();
    const table = (type: GemmaLayerType): RopeTable => {
      const p = cfg.rope[type];
      if (!tables.has(type))
        tables.set(type, ropeTable(src.backend, cfg.head_dim, cfg.max_position_embeddings, p.theta, ropeInvFreq(cfg.head_dim, p)));
      return tables.get(type)!;
    };
    this.embed_tokens = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
    this.layers = Array.from(
      { length: cfg.num_hidden_layers },
      (_, i) => new GemmaDecoderLayer(src, `model.layers.${i}`, cfg, i, table(cfg.layer_types[i]!)),
    );
    this.norm = gemmaNormFrom(src, 'model.norm', cfg.hidden_size, cfg.rms_norm_eps);
  }
}

/** HF Gemma2ForCausalLM and Gemma3ForCausalLM (text only, model_type gemma3_text). */
export class GemmaForCausalLM extends CausalLM {
  model: GemmaModel;
  lm_head: Linear | null;
  readonly dims: ModelDims;

  constructor(
    src: WeightSource,
    private readonly _cfg: GemmaConfig,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.model = new GemmaModel(src, _cfg);
    this.lm_head = _cfg.tie_word_embeddings ? null : denseLinearFrom(src, 'lm_head', _cfg.vocab_size, _cfg.hidden_size, false);
    this.finalLogitSoftcap = _cfg.final_logit_softcapping;
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

  /** sqrt(hidden_size) rounded to the embedding's dtype, as HF multiplies it
   * (Gemma 2: a tensor in the hidden states' dtype; Gemma 3: embed_scale cast to
   * the weight's dtype). */
  embedScale(): number {
    const s = Math.sqrt(this._cfg.hidden_size);
    return this.model.embed_tokens.weight.dtype === 'bf16' ? roundToBf16(s) : Math.fround(s);
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const [B, T] = ids.shape as [number, number];
    checkNoCache(packed, cache);
    // packed rows (--pack, issue 18): positions restart per row, attention stays inside it
    const keyStart = packed ? packedKeyStart(packed, B, T, this.dims.maxPositions) : undefined;
    const start = cache?.length ?? 0;
    const positions = packed ?? Int32Array.from({ length: T }, (_, i) => start + i);
    let h = scale(this.model.embed_tokens.forward(ids), this.embedScale()); // (B, T, d)
    for (const layer of this.model.layers) h = layer.forward(h, positions, cache, keyStart);
    return this.model.norm.forward(h);
  }

  lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }
}
