import { embeddingFrom } from '../build.js';
import { roundToBf16 } from '../../backend/reference/bf16.js';
import { Module } from '../../nn/module.js';
import { add, scale } from '../../tensor/ops/elementwise.js';
import { ropeTable, type RopeTable } from '../../tensor/ops/rope.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KvCache } from '../kvCache.js';
import { ropeInvFreq } from '../ropeConfig.js';
import type { WeightSource } from '../weightSource.js';
import { QkvAttention } from '../decoder/attention.js';
import { GatedMLP } from '../decoder/gatedMlp.js';
import type { DecoderLayer } from '../decoder/layer.js';
import { DecoderForCausalLM, DecoderModel } from '../decoder/model.js';
import type { GemmaConfig, GemmaLayerType } from './config.js';
import { gemmaNormFrom, type GemmaRMSNorm } from './norm.js';

/** Sandwich norms: each sub-layer's output is normalised before the residual add
 * (HF Gemma2DecoderLayer / Gemma3DecoderLayer). */
class GemmaDecoderLayer extends Module implements DecoderLayer {
  self_attn: QkvAttention;
  /** GeGLU: down(gelu_tanh(gate(x)) * up(x)) */
  mlp: GatedMLP;
  input_layernorm: GemmaRMSNorm;
  post_attention_layernorm: GemmaRMSNorm;
  pre_feedforward_layernorm: GemmaRMSNorm;
  post_feedforward_layernorm: GemmaRMSNorm;

  constructor(src: WeightSource, prefix: string, cfg: GemmaConfig, layer: number, table: RopeTable) {
    super();
    const norm = (name: string, dim = cfg.hidden_size) => gemmaNormFrom(src, `${prefix}.${name}`, dim, cfg.rms_norm_eps);
    const cap = cfg.attn_logit_softcapping;
    this.self_attn = new QkvAttention(
      src,
      `${prefix}.self_attn`,
      {
        dims: cfg,
        qkvBias: cfg.attention_bias,
        oBias: cfg.attention_bias,
        // Gemma 3: (1 + w) RMSNorm over head_dim of each query and key head, before RoPE
        qkNorm: cfg.qk_norm ? (name) => norm(`self_attn.${name}`, cfg.head_dim) : null,
        extras: {
          scale: 1 / Math.sqrt(cfg.query_pre_attn_scalar),
          ...(cfg.layer_types[layer] === 'sliding_attention' ? { window: cfg.sliding_window } : {}),
          ...(cap !== null ? { softcap: cap } : {}),
        },
      },
      layer,
      table,
    );
    this.mlp = new GatedMLP(src, `${prefix}.mlp`, { ...cfg, bias: false, activation: cfg.hidden_activation });
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

function gemmaModel(src: WeightSource, cfg: GemmaConfig): DecoderModel<GemmaDecoderLayer> {
  const tables = new Map<GemmaLayerType, RopeTable>();
  const table = (type: GemmaLayerType): RopeTable => {
    const p = cfg.rope[type];
    if (!tables.has(type))
      tables.set(type, ropeTable(src.backend, cfg.head_dim, cfg.max_position_embeddings, p.theta, ropeInvFreq(cfg.head_dim, p)));
    return tables.get(type)!;
  };
  const embed = embeddingFrom(src, 'model.embed_tokens', cfg.vocab_size, cfg.hidden_size);
  const layers = Array.from(
    { length: cfg.num_hidden_layers },
    (_, i) => new GemmaDecoderLayer(src, `model.layers.${i}`, cfg, i, table(cfg.layer_types[i]!)),
  );
  return new DecoderModel(embed, layers, gemmaNormFrom(src, 'model.norm', cfg.hidden_size, cfg.rms_norm_eps));
}

/** HF Gemma2ForCausalLM and Gemma3ForCausalLM (text only, model_type gemma3_text). */
export class GemmaForCausalLM extends DecoderForCausalLM<GemmaDecoderLayer> {
  constructor(
    src: WeightSource,
    private readonly _cfg: GemmaConfig,
    config: Record<string, unknown>,
  ) {
    super(src, _cfg, gemmaModel(src, _cfg), config);
    this.finalLogitSoftcap = _cfg.final_logit_softcapping;
  }

  /** sqrt(hidden_size) rounded to the embedding's dtype, as HF multiplies it
   * (Gemma 2: a tensor in the hidden states' dtype; Gemma 3: embed_scale cast to
   * the weight's dtype). */
  embedScale(): number {
    const s = Math.sqrt(this._cfg.hidden_size);
    return this.model.embed_tokens.weight.dtype === 'bf16' ? roundToBf16(s) : Math.fround(s);
  }

  protected override embed(ids: Tensor): Tensor {
    return scale(this.model.embed_tokens.forward(ids), this.embedScale());
  }
}
