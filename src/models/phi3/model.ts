import { denseLinearFrom, embeddingFrom, linearFrom, rmsNormFrom } from '../build.js';
import type { Embedding } from '../../nn/embedding.js';
import type { Linear, LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { RMSNorm } from '../../nn/norm.js';
import { attention } from '../../tensor/ops/attention.js';
import { mul, unary } from '../../tensor/ops/elementwise.js';
import { rope, ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import { permute, reshape, slice } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CausalLM, type ModelDims } from '../causalLM.js';
import type { KvCache } from '../kvCache.js';
import { checkNoCache, packedKeyStart } from '../packedPositions.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { WeightSource } from '../weightSource.js';
import type { Phi3Config } from './config.js';

class Phi3Attention extends Module {
  /** [q; k; v] stacked on the output axis: [(hq + 2 hkv) hd, d] (HF Phi3Attention) */
  qkv_proj: LinearLike;
  o_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: Phi3Config,
    private readonly _layer: number,
    private readonly _rope: RopeTable,
  ) {
    super();
    const { hidden_size: d, num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd } = _cfg;
    this.qkv_proj = linearFrom(src, `${prefix}.qkv_proj`, (hq + 2 * hkv) * hd, d, false);
    this.o_proj = linearFrom(src, `${prefix}.o_proj`, d, hq * hd, false);
  }

  /** residual + self-attention(x); o_proj adds the residual. */
  forward(x: Tensor, residual: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    const [B, T] = x.shape as [number, number, number]; // x: (B, T, d)
    const { num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd, sliding_window: window } = this._cfg;
    const qkv = this.qkv_proj.forward(x); // (B, T, (hq + 2 hkv) hd)
    const q = rope(reshape(slice(qkv, 2, 0, hq * hd), [B, T, hq, hd]), positions, this._rope, 'halves'); // (B, T, hq, hd)
    const k = rope(reshape(slice(qkv, 2, hq * hd, (hq + hkv) * hd), [B, T, hkv, hd]), positions, this._rope, 'halves');
    const v = reshape(slice(qkv, 2, (hq + hkv) * hd, (hq + 2 * hkv) * hd), [B, T, hkv, hd]);
    let kh = permute(k, [0, 2, 1, 3]); // (B, hkv, T, hd)
    let vh = permute(v, [0, 2, 1, 3]); // (B, hkv, T, hd)
    if (cache) [kh, vh] = cache.update(this._layer, kh, vh);
    const o = attention(permute(q, [0, 2, 1, 3]), kh, vh, { causal: true, keyStart, ...(window ? { window } : {}) }); // (B, hq, T, hd)
    return this.o_proj.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, hq * hd]), { residual });
  }
}

class Phi3MLP extends Module {
  /** [gate; up] stacked on the output axis: [2f, d] (HF Phi3MLP chunks it in two) */
  gate_up_proj: LinearLike;
  down_proj: LinearLike;

  constructor(
    src: WeightSource,
    prefix: string,
    private readonly _cfg: Phi3Config,
  ) {
    super();
    const { hidden_size: d, intermediate_size: f } = _cfg;
    this.gate_up_proj = linearFrom(src, `${prefix}.gate_up_proj`, 2 * f, d, false);
    this.down_proj = linearFrom(src, `${prefix}.down_proj`, d, f, false);
  }

  /** residual + down(silu(gate) * up); down_proj adds the residual. */
  forward(x: Tensor, residual: Tensor): Tensor {
    const f = this._cfg.intermediate_size;
    const gateUp = this.gate_up_proj.forward(x); // (B, T, 2f)
    const gated = mul(unary('silu', slice(gateUp, 2, 0, f)), slice(gateUp, 2, f, 2 * f)); // (B, T, f)
    return this.down_proj.forward(gated, { residual });
  }
}

class Phi3DecoderLayer extends Module {
  self_attn: Phi3Attention;
  mlp: Phi3MLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;

  constructor(src: WeightSource, prefix: string, cfg: Phi3Config, layer: number, table: RopeTable) {
    super();
    this.self_attn = new Phi3Attention(src, `${prefix}.self_attn`, cfg, layer, table);
    this.mlp = new Phi3MLP(src, `${prefix}.mlp`, cfg);
    this.input_layernorm = rmsNormFrom(src, `${prefix}.input_layernorm`, cfg.hidden_size, cfg.rms_norm_eps);
    this.post_attention_layernorm = rmsNormFrom(src, `${prefix}.post_attention_layernorm`, cfg.hidden_size, cfg.rms_norm_eps);
  }

  forward(h: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array): Tensor {
    h = this.self_attn.forward(this.input_layernorm.forward(h), h, positions, cache, keyStart);
    return this.mlp.forward(this.post_attention_layernorm.forward(h), h);
  }
}

class Phi3Model extends Module {
  embed_tokens: Embedding;
  layers: Phi3DecoderLayer[];
  norm: RMSNorm;

  constructor(src: WeightSource, cfg: Phi3Config) {
    super();
    const dim = cfg.rotary_dim;
    const table = ropeTable(src.backend, dim, cfg.max_position_embeddings, cfg.rope.theta, ropeInvFreq(dim, cfg.rope));
    this.embed_tokens = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
    this.layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new Phi3DecoderLayer(src, `model.layers.${i}`, cfg, i, table));
    this.norm = rmsNormFrom(src, 'model.norm', cfg.hidden_size, cfg.rms_norm_eps);
  }
}

/** HF Phi3ForCausalLM. */
export class Phi3ForCausalLM extends CausalLM {
  model: Phi3Model;
  lm_head: Linear | null;
  readonly dims: ModelDims;

  constructor(
    src: WeightSource,
    cfg: Phi3Config,
    readonly config: Record<string, unknown>,
  ) {
    super();
    this.model = new Phi3Model(src, cfg);
    this.lm_head = cfg.tie_word_embeddings ? null : denseLinearFrom(src, 'lm_head', cfg.vocab_size, cfg.hidden_size, false);
    this.dims = {
      modelType: cfg.model_type,
      vocabSize: cfg.vocab_size,
      hiddenSize: cfg.hidden_size,
      numLayers: cfg.num_hidden_layers,
      maxPositions: cfg.max_position_embeddings,
      bosTokenId: cfg.bos_token_id,
      eosTokenId: cfg.eos_token_id,
    };
  }

  hidden(ids: Tensor, cache?: KvCache, packed?: Int32Array): Tensor {
    const [B, T] = ids.shape as [number, number];
    checkNoCache(packed, cache);
    // packed rows (--pack, issue 18): positions restart per row, attention stays inside it
    const keyStart = packed ? packedKeyStart(packed, B, T, this.dims.maxPositions) : undefined;
    const start = cache?.length ?? 0;
    const positions = packed ?? Int32Array.from({ length: T }, (_, i) => start + i);
    let h = this.model.embed_tokens.forward(ids); // (B, T, d)
    for (const layer of this.model.layers) h = layer.forward(h, positions, cache, keyStart);
    return this.model.norm.forward(h);
  }

  lmHeadWeight(): Tensor {
    return this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight;
  }
}
