import { embeddingFrom, linearFrom, rmsNormFrom } from '../build.js';
import type { LinearLike } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { gatedActivation } from '../../tensor/ops/gatedActivation.js';
import { ropeInPlace, ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import { reshape, slice } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KvCache } from '../kvCache.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { WeightSource } from '../weightSource.js';
import { attendHeads } from '../decoder/attention.js';
import { PreNormDecoderLayer, type DecoderAttention, type DecoderMLP } from '../decoder/layer.js';
import { DecoderForCausalLM, DecoderModel } from '../decoder/model.js';
import type { Phi3Config } from './config.js';

class Phi3Attention extends Module implements DecoderAttention {
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
  forward(x: Tensor, positions: Int32Array, cache?: KvCache, keyStart?: Int32Array, residual?: Tensor): Tensor {
    const [B, T] = x.shape as [number, number, number]; // x: (B, T, d)
    const { num_attention_heads: hq, num_key_value_heads: hkv, head_dim: hd, sliding_window: window } = this._cfg;
    const qkv = this.qkv_proj.forward(x); // (B, T, (hq + 2 hkv) hd)
    // RoPE in place over the slices, fresh copies nothing else reads
    const q = ropeInPlace(reshape(slice(qkv, 2, 0, hq * hd), [B, T, hq, hd]), positions, this._rope, 'halves'); // (B, T, hq, hd)
    const k = ropeInPlace(reshape(slice(qkv, 2, hq * hd, (hq + hkv) * hd), [B, T, hkv, hd]), positions, this._rope, 'halves');
    const v = reshape(slice(qkv, 2, (hq + hkv) * hd, (hq + 2 * hkv) * hd), [B, T, hkv, hd]);
    const o = attendHeads(q, k, v, { layer: this._layer, cache, keyStart, extras: window ? { window } : {} }); // (B, T, hq hd)
    return this.o_proj.forward(o, { residual });
  }
}

class Phi3MLP extends Module implements DecoderMLP {
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
  forward(x: Tensor, residual?: Tensor): Tensor {
    const f = this._cfg.intermediate_size;
    const gateUp = this.gate_up_proj.forward(x); // (B, T, 2f)
    const gated = gatedActivation('silu', slice(gateUp, 2, 0, f), slice(gateUp, 2, f, 2 * f)); // (B, T, f)
    return this.down_proj.forward(gated, { residual });
  }
}

type Phi3DecoderLayer = PreNormDecoderLayer<Phi3Attention, Phi3MLP>;

function phi3Model(src: WeightSource, cfg: Phi3Config): DecoderModel<Phi3DecoderLayer> {
  const dim = cfg.rotary_dim;
  const table = ropeTable(src.backend, dim, cfg.max_position_embeddings, cfg.rope.theta, ropeInvFreq(dim, cfg.rope));
  const norm = (name: string) => rmsNormFrom(src, name, cfg.hidden_size, cfg.rms_norm_eps);
  const embed = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
  const layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => {
    const prefix = `model.layers.${i}`;
    const attn = new Phi3Attention(src, `${prefix}.self_attn`, cfg, i, table);
    const mlp = new Phi3MLP(src, `${prefix}.mlp`, cfg);
    return new PreNormDecoderLayer(attn, mlp, norm(`${prefix}.input_layernorm`), norm(`${prefix}.post_attention_layernorm`));
  });
  return new DecoderModel(embed, layers, norm('model.norm'));
}

/** HF Phi3ForCausalLM: a Llama with fused qkv_proj and gate_up_proj. */
export class Phi3ForCausalLM extends DecoderForCausalLM<Phi3DecoderLayer> {
  constructor(src: WeightSource, cfg: Phi3Config, config: Record<string, unknown>) {
    super(src, cfg, phi3Model(src, cfg), config);
  }
}
